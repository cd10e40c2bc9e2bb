"""Each apply operation's answer, decoded once into a frozen typed result.

The apply engine and the fixers read ``result.ok``, ``result.backup_path``,
``result.running`` ... and never index the response's dicts: the shape of every answer is
checked here, once, as strictly as a collect response (``auditor.remote.decode``), and a
node that answers garbage is a ``protocol`` failure naming the place, not a KeyError in the
middle of a rollout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.remote.client import RemoteError
from auditor.remote.fields import BadField, array, integer, obj, string, utc_time
from auditor.remote.protocol import ProtocolError, validate_response
from auditor.vocab import OpStatus


@dataclass(frozen=True)
class OpResult:
    """What the node said about one op: ``status`` and, unless ok, the ``error`` text."""

    op: str
    id: str
    status: OpStatus
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status == OpStatus.OK

    @property
    def problem(self) -> str:
        """The node's error text (``write_file failed`` when it gave none)."""
        return self.error or f"{self.op} {self.status}"


@dataclass(frozen=True)
class WriteFileResult(OpResult):
    path: str | None = None
    backup_path: str | None = None  # None: the file was new, nothing to back up
    previous_sha256: str | None = None
    sha256: str | None = None
    mtime: str | None = None


@dataclass(frozen=True)
class RestoreFileResult(OpResult):
    path: str | None = None
    backup_path: str | None = None
    sha256: str | None = None
    mtime: str | None = None


@dataclass(frozen=True)
class RestartServiceResult(OpResult):
    name: str | None = None
    state: str | None = None
    start_time: str | None = None
    pid: int | None = None


@dataclass(frozen=True)
class SetServiceAccountResult(OpResult):
    name: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class RunningProcess:
    name: str
    pid: int

    def __str__(self) -> str:
        return f"{self.name} (pid {self.pid})"


@dataclass(frozen=True)
class CheckInstallersResult(OpResult):
    running: tuple[RunningProcess, ...] = ()


def _write_file(d: Any, w: str) -> dict[str, Any]:
    d = obj(d, w, ("path", "backup_path", "previous_sha256", "sha256", "mtime"))
    return {"path": string(d["path"], f"{w}.path"), "backup_path": string(d["backup_path"], f"{w}.backup_path", True),
            "previous_sha256": string(d["previous_sha256"], f"{w}.previous_sha256", True),
            "sha256": string(d["sha256"], f"{w}.sha256"), "mtime": utc_time(d["mtime"], f"{w}.mtime")}


def _restore_file(d: Any, w: str) -> dict[str, Any]:
    d = obj(d, w, ("path", "backup_path", "sha256", "mtime"))
    return {"path": string(d["path"], f"{w}.path"), "backup_path": string(d["backup_path"], f"{w}.backup_path"),
            "sha256": string(d["sha256"], f"{w}.sha256"), "mtime": utc_time(d["mtime"], f"{w}.mtime")}


def _restart_service(d: Any, w: str) -> dict[str, Any]:
    d = obj(d, w, ("name", "state", "start_time", "pid"))
    return {"name": string(d["name"], f"{w}.name"), "state": string(d["state"], f"{w}.state"),
            "start_time": utc_time(d["start_time"], f"{w}.start_time"), "pid": integer(d["pid"], f"{w}.pid", True)}


def _set_service_account(d: Any, w: str) -> dict[str, Any]:
    d = obj(d, w, ("name", "account"))
    return {"name": string(d["name"], f"{w}.name"), "account": string(d["account"], f"{w}.account")}


def _check_installers(d: Any, w: str) -> dict[str, Any]:
    d = obj(d, w, ("running",))
    running = []
    for n, p in enumerate(array(d["running"], f"{w}.running")):
        p = obj(p, f"{w}.running[{n}]", ("name", "pid", "path", "start_time", "command_line"))
        running.append(RunningProcess(string(p["name"], f"{w}.running[{n}].name") or "",
                                      integer(p["pid"], f"{w}.running[{n}].pid") or 0))
    return {"running": tuple(running)}


_RESULTS: dict[str, tuple[type[OpResult], Any]] = {
    "write_file": (WriteFileResult, _write_file),
    "restore_file": (RestoreFileResult, _restore_file),
    "restart_service": (RestartServiceResult, _restart_service),
    "set_service_account": (SetServiceAccountResult, _set_service_account),
    "check_installers": (CheckInstallersResult, _check_installers),
}


def decode_apply_response(node: str, response: dict[str, Any], request: dict[str, Any]) -> tuple[OpResult, ...]:
    """One typed result per op of ``request`` (an apply request), in order.

    Raises ``RemoteError("protocol", ...)`` when the answer does not fit the request or an
    op's data has the wrong shape."""
    try:
        validate_response(response, request)
        if response["kind"] != "apply":
            raise ProtocolError(f"response kind is {response['kind']!r}, expected 'apply'")
        out: list[OpResult] = []
        for i, r in enumerate(response["results"]):
            cls, read = _RESULTS[r["op"]]
            status = OpStatus(r["status"])
            fields = read(r["data"], f"results[{i}] ({r['id']}).data") if status == OpStatus.OK else {}
            out.append(cls(op=r["op"], id=r["id"], status=status, error=r["error"], **fields))
    except (ProtocolError, BadField) as exc:
        raise RemoteError("protocol", f"{node}: {exc}") from None
    return tuple(out)


__all__ = ["CheckInstallersResult", "OpResult", "RestartServiceResult", "RestoreFileResult", "RunningProcess",
           "SetServiceAccountResult", "WriteFileResult", "decode_apply_response"]
