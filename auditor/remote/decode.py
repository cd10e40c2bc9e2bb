"""Turn a collect response into a :class:`~auditor.nodestate.NodeState`, strictly.

Everything a node sends is checked for shape and type before it becomes data the checks
trust; anything unexpected raises ``RemoteError("protocol", ...)`` naming the exact place
(``results[5] (files:management).files[2].mtime: expected string or null``). A node that
answers garbage must never turn into a clean audit.

An op that failed on the node (e.g. access denied on the registry) keeps the data of the
other ops but marks the node ``status="error"`` with the reasons: checks would otherwise read
the missing data as "not configured" and report wrong findings.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any

from auditor.errors import InputError
from auditor.nodefolder import windows_to_relative
from auditor.nodestate import (
    ClockSample,
    FileEntry,
    Interface,
    ListeningPort,
    NodeState,
    OsInfo,
    PathProbe,
    Process,
    Service,
    etcd_from_json,
    path_key,
)
from auditor.remote.client import RemoteError
from auditor.remote.fields import BadField as _Bad
from auditor.remote.fields import array as _l
from auditor.remote.fields import boolean as _b
from auditor.remote.fields import integer as _i
from auditor.remote.fields import obj as _obj
from auditor.remote.fields import string as _s
from auditor.remote.fields import utc_time as _t
from auditor.remote.protocol import (
    ETCD_KEY_RE,
    CheckedResponse,
    ProtocolError,
    etcd_secret_pattern,
    validate_response,
)
from auditor.vocab import NodeStatus, OpStatus
from auditor.winpath import is_absolute


def _facts(d: Any, w: str, st: NodeState) -> None:
    d = _obj(d, w, ("hostname", "fqdn", "os", "dotnet_release", "interfaces", "environment"))
    st.hostname = _s(d["hostname"], f"{w}.hostname") or ""
    st.fqdn = _s(d["fqdn"], f"{w}.fqdn") or ""
    o = _obj(d["os"], f"{w}.os", ("caption", "product_type", "version", "build"))
    st.os = OsInfo(caption=_s(o["caption"], f"{w}.os.caption") or "",
                   product_type=_i(o["product_type"], f"{w}.os.product_type") or 0,
                   version=_s(o["version"], f"{w}.os.version") or "", build=_s(o["build"], f"{w}.os.build") or "")
    st.dotnet_release = _i(d["dotnet_release"], f"{w}.dotnet_release", null=True)
    st.interfaces = []
    for n, itf in enumerate(_l(d["interfaces"], f"{w}.interfaces")):
        itf = _obj(itf, f"{w}.interfaces[{n}]", ("name", "ipv4"))
        st.interfaces.append(Interface(
            name=_s(itf["name"], f"{w}.interfaces[{n}].name") or "",
            ipv4=[_s(ip, f"{w}.interfaces[{n}].ipv4[]") or "" for ip in _l(itf["ipv4"], f"{w}.interfaces[{n}].ipv4")]))
    env = d["environment"]
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise _Bad(f"{w}.environment: expected an object of strings")
    st.environment = dict(env)


_SVC = ("name", "display_name", "state", "start_mode", "account", "image_path", "start_time", "pid")


def _services(d: Any, w: str, st: NodeState) -> None:
    d = _obj(d, w, ("services",))
    for n, s in enumerate(_l(d["services"], f"{w}.services")):
        ww = f"{w}.services[{n}]"
        s = _obj(s, ww, _SVC)
        st.services.append(Service(
            name=_s(s["name"], f"{ww}.name") or "", display_name=_s(s["display_name"], f"{ww}.display_name") or "",
            state=_s(s["state"], f"{ww}.state") or "", start_mode=_s(s["start_mode"], f"{ww}.start_mode") or "",
            account=_s(s["account"], f"{ww}.account") or "", image_path=_s(s["image_path"], f"{ww}.image_path") or "",
            start_time=_t(s["start_time"], f"{ww}.start_time"), pid=_i(s["pid"], f"{ww}.pid", null=True)))


def _process(p: Any, ww: str) -> Process:
    p = _obj(p, ww, ("name", "pid", "path", "start_time", "command_line"))
    return Process(name=_s(p["name"], f"{ww}.name") or "", pid=_i(p["pid"], f"{ww}.pid") or 0,
                   path=_s(p["path"], f"{ww}.path") or "", start_time=_t(p["start_time"], f"{ww}.start_time"),
                   command_line=_s(p["command_line"], f"{ww}.command_line") or "")


def _processes(d: Any, w: str, st: NodeState) -> None:
    d = _obj(d, w, ("processes",))
    st.processes = [_process(p, f"{w}.processes[{n}]") for n, p in enumerate(_l(d["processes"], f"{w}.processes"))]


def _ports(d: Any, w: str, st: NodeState) -> None:
    d = _obj(d, w, ("ports",))
    for n, p in enumerate(_l(d["ports"], f"{w}.ports")):
        p = _obj(p, f"{w}.ports[{n}]", ("address", "port", "pid"))
        st.listening_ports.append(ListeningPort(address=_s(p["address"], f"{w}.ports[{n}].address") or "",
                                                port=_i(p["port"], f"{w}.ports[{n}].port") or 0,
                                                pid=_i(p["pid"], f"{w}.ports[{n}].pid", null=True)))


def _registry(d: Any, w: str, st: NodeState) -> None:
    d = _obj(d, w, ("keys",))
    keys = d["keys"]
    if not isinstance(keys, dict):
        raise _Bad(f"{w}.keys: expected an object")
    for k, vals in keys.items():
        if not isinstance(vals, dict):
            raise _Bad(f"{w}.keys[{k!r}]: expected an object")
        for vn, v in vals.items():
            ok = v is None or isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) or \
                (isinstance(v, list) and all(isinstance(x, str) for x in v))
            if not ok:
                raise _Bad(f"{w}.keys[{k!r}][{vn!r}]: expected string, integer, list of strings or null")
        st.registry[k] = dict(vals)


def _install_head(d: Any, w: str, keys: tuple[str, ...]) -> dict[str, Any]:
    d = _obj(d, w, keys)
    _s(d["subsystem"], f"{w}.subsystem")
    _s(d["service"], f"{w}.service", null=True)
    _s(d["install_dir"], f"{w}.install_dir", null=True)
    return d


@functools.lru_cache(maxsize=4096)
def _unsafe_path(path: str) -> str | None:
    """Why :func:`windows_to_relative` refuses ``path``, None when it accepts it. Cached: every
    node of a cluster answers for the same profile paths."""
    try:
        windows_to_relative(path)
    except InputError as exc:
        return exc.message
    return None


def _files(d: Any, w: str, st: NodeState) -> None:
    d = _install_head(d, w, ("subsystem", "service", "install_dir", "files"))
    for n, f in enumerate(_l(d["files"], f"{w}.files")):
        ww = f"{w}.files[{n}]"
        f = _obj(f, ww, ("path", "exists", "mtime", "size", "content_b64", "truncated", "error"))
        path = _s(f["path"], f"{ww}.path") or ""
        refused = _unsafe_path(path)  # the snapshot writer's rule: a hostile path is refused here already
        if refused:
            raise _Bad(f"{ww}.path: {refused}")
        exists = _b(f["exists"], f"{ww}.exists")
        truncated = _b(f["truncated"], f"{ww}.truncated")
        error = _s(f["error"], f"{ww}.error", null=True)
        _i(f["size"], f"{ww}.size", null=True)
        raw = _s(f["content_b64"], f"{ww}.content_b64", null=True)
        content = None
        if raw is not None:
            try:
                content = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise _Bad(f"{ww}.content_b64: not valid base64") from None
        if not exists and (content is not None or truncated):
            raise _Bad(f"{ww}: a missing file cannot have content")
        if truncated and content is not None and error is None:
            # node.json has no 'truncated' flag: the note keeps the fact across snapshots
            error = f"truncated at {len(content)} bytes"
        st.files[path_key(path)] = FileEntry(path=path, content=content, mtime=_t(f["mtime"], f"{ww}.mtime"),
                                             exists=exists, error=error, truncated=truncated)


def _probe_entry(p: Any, ww: str) -> PathProbe:
    p = _obj(p, ww, ("path", "exists", "is_dir", "error"))
    if not is_absolute(_s(p["path"], f"{ww}.path") or "") or "\x00" in p["path"]:
        raise _Bad(f"{ww}.path: not an absolute Windows path: {p['path'][:120]!r}")
    return PathProbe(path=_s(p["path"], f"{ww}.path") or "", exists=_b(p["exists"], f"{ww}.exists"),
                     is_dir=_b(p["is_dir"], f"{ww}.is_dir"), error=_s(p["error"], f"{ww}.error", null=True))


def _probe(d: Any, w: str, st: NodeState) -> None:
    d = _install_head(d, w, ("subsystem", "service", "install_dir", "probes"))
    for n, p in enumerate(_l(d["probes"], f"{w}.probes")):
        pr = _probe_entry(p, f"{w}.probes[{n}]")
        st.probes[path_key(pr.path)] = pr


def _probe_property(d: Any, w: str, st: NodeState) -> None:
    d = _install_head(d, w, ("subsystem", "service", "install_dir", "file", "key", "found", "value", "probe"))
    _s(d["file"], f"{w}.file", null=True)
    _s(d["key"], f"{w}.key")
    _b(d["found"], f"{w}.found")
    _s(d["value"], f"{w}.value", null=True)
    if d["probe"] is not None:
        pr = _probe_entry(d["probe"], f"{w}.probe")
        st.probes[path_key(pr.path)] = pr


def _etcd(d: Any, w: str, st: NodeState) -> None:
    """No etcd service on the node: nothing was asked (``etcd`` stays None). A value of a key
    that looks secret is a protocol failure: the executor must never send one."""
    if not isinstance(d, dict) or "service" not in d:
        raise _Bad(f"{w}: expected an object with a service field")
    service = _s(d["service"], f"{w}.service", null=True)
    try:
        facts = etcd_from_json({k: v for k, v in d.items() if k != "service"})
    except ValueError as exc:
        raise _Bad(f"{w}.{exc}") from None
    for key in facts.values:
        if not ETCD_KEY_RE.match(key) or etcd_secret_pattern(key) is not None:
            raise _Bad(f"{w}.values: the node sent the value of etcd key {key[:60]!r}, which may hold a secret")
    if service is None:
        if facts.values or facts.members or facts.error or facts.key_names is not None:
            raise _Bad(f"{w}: etcd data without an etcd service")
        return
    st.etcd = facts


_DECODERS = {"facts": _facts, "services": _services, "processes": _processes, "ports": _ports,
             "registry": _registry, "files": _files, "probe": _probe, "probe_property": _probe_property,
             "etcd": _etcd}


def node_state_from_response(name: str, response: dict[str, Any], expect_hostname: str | None = None, *,
                             sent: str | None = None, received: str | None = None) -> NodeState:
    """The NodeState of a collect response (``name`` = inventory name).

    ``expect_hostname``: when given, a node answering as another host raises
    ``RemoteError("protocol", ...)`` (DNS pointing at the wrong server, a cloned VM ...).
    ``sent``/``received``: the auditing host's UTC times around the exchange; with them the
    answer's ``started``/``finished`` (the node's clock) become ``NodeState.clock``.
    """
    try:
        if not isinstance(response, dict):
            raise ProtocolError("response: expected a JSON object")
        if not isinstance(response, CheckedResponse):  # execute's answers were checked there, with the request
            validate_response(response)
        if response["kind"] != "collect":
            raise ProtocolError(f"response kind is {response['kind']!r}, expected 'collect'")
        st = NodeState(name=name)
        st.collected_at = _t(response.get("finished"), "response.finished")
        started = _t(response.get("started"), "response.started")
        if sent and received and started and st.collected_at:
            st.clock = ClockSample(node_started=started, node_finished=st.collected_at, sent=sent, received=received)
        failures = []
        for i, r in enumerate(response["results"]):
            op = r["op"]
            w = f"results[{i}] ({r['id']}).data"
            if op not in _DECODERS:
                raise ProtocolError(f"results[{i}]: unknown op {op!r} in a collect response")
            if r["status"] != OpStatus.OK:
                failures.append(f"{r['id']}: {r['error']}")
                continue
            _DECODERS[op](r["data"], w, st)
    except (ProtocolError, _Bad) as exc:
        raise RemoteError("protocol", f"{name}: {exc}") from None
    if not st.hostname:
        st.hostname = str(response.get("hostname") or "")
    if expect_hostname:
        answered = {st.hostname.lower(), st.fqdn.lower(), st.hostname.lower().split(".")[0]}
        if expect_hostname.lower() not in answered and expect_hostname.lower().split(".")[0] not in answered:
            raise RemoteError("protocol", f"{name}: the node answered as {st.hostname!r} ({st.fqdn}), "
                                          f"expected {expect_hostname!r}")
    if failures:
        st.status = NodeStatus.ERROR
        st.reason = "collection incomplete: " + "; ".join(failures)
    return st
