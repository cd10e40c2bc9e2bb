"""How a request reaches a node: a fixed tiny bootstrap on the command line, everything else in
shell environment variables.

Why: cmd.exe caps a command line at 8191 characters (about 3,000 characters of
``-EncodedCommand`` script), far too small for the executor plus a request. WinRS lets the
client set environment variables when it creates the shell (``<rsp:Environment>``), each up to
32,767 characters, bounded only by the Create envelope (MaxEnvelopeSize 153,600 bytes). So:

* ``PA_X0``, ``PA_X1`` ...: the executor script, gzip + base64, in chunks of at most 30,000
  characters;
* ``PA_R0``, ``PA_R1`` ...: the request JSON (UTF-8), gzip + base64, same chunking;
* ``PA_S_<NAME>``: secrets (service account passwords) named by apply ops, never in the request;
* the command line: ``powershell -NoProfile -NonInteractive -EncodedCommand <bootstrap>``.

gzip is used because the executor source compresses about 4:1, which leaves most of the
envelope for requests (e.g. ``write_file`` contents).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from functools import lru_cache
from importlib import resources

from auditor.remote.protocol import SECRET_ENV_RE, ProtocolError

CHUNK_CHARS = 30000
MAX_ENVELOPE = 153600
ENVELOPE_RESERVE = 6000
"""SOAP headers and body of the Create message besides the variables (measured about 2 KB;
kept generous because XML escaping of secrets can grow them)."""
VAR_OVERHEAD = 64
"""Per variable: ``<rsp:Variable Name="PA_X0">...</rsp:Variable>``."""
CMD_LINE_LIMIT = 8191
COMMAND_PREFIX = "powershell -NoProfile -NonInteractive -EncodedCommand "
EXECUTOR_VAR = "PA_X"
REQUEST_VAR = "PA_R"


def _package_text(name: str) -> str:
    text = resources.files("auditor.remote").joinpath(name).read_text(encoding="utf-8")
    return text.replace("\r\n", "\n")


@lru_cache(maxsize=1)
def bootstrap_script() -> str:
    """The fixed bootstrap (``bootstrap.ps1`` with LF line endings, no trailing newline)."""
    return _package_text("bootstrap.ps1").strip("\n")


EXECUTOR_PARTS = ("executor.ps1", "executor_ops.ps1")
"""The executor's source files, in order: settings and helpers, then the ops and the main program."""


@lru_cache(maxsize=1)
def executor_script() -> str:
    """The shipped executor, exactly as sent: its parts joined into one script."""
    return "\n".join(_package_text(name) for name in EXECUTOR_PARTS)


def executor_sha256() -> str:
    return hashlib.sha256(executor_script().encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def command_line() -> str:
    """The one command line sent to every node (fixed: it never contains request data)."""
    encoded = base64.b64encode(bootstrap_script().encode("utf-16-le")).decode("ascii")
    line = COMMAND_PREFIX + encoded
    if len(line) > CMD_LINE_LIMIT:  # pragma: no cover - guarded by a test
        raise AssertionError(f"bootstrap command line is {len(line)} characters, over cmd.exe's {CMD_LINE_LIMIT}")
    return line


def pack(text: str) -> str:
    """gzip (mtime 0, so deterministic) + base64 of UTF-8 text."""
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def unpack(b64: str) -> str:
    return gzip.decompress(base64.b64decode(b64, validate=True)).decode("utf-8")


@lru_cache(maxsize=1)
def packed_executor() -> str:
    """``pack(executor_script())``, computed once: gzip of the executor took ~4 ms, about a
    third of the client's CPU per node, and it is the same bytes for every node."""
    return pack(executor_script())


def _chunks(prefix: str, value: str) -> dict[str, str]:
    return {f"{prefix}{i}": value[o:o + CHUNK_CHARS] for i, o in enumerate(range(0, len(value), CHUNK_CHARS))}


def shell_env(request_json: str, secrets: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables for ``open_shell``; :class:`RequestTooLarge` if over the envelope."""
    env = _chunks(EXECUTOR_VAR, packed_executor())
    env.update(_chunks(REQUEST_VAR, pack(request_json)))
    for name in secrets or {}:
        if not SECRET_ENV_RE.match(name):
            raise ProtocolError(f"secret variable names must match {SECRET_ENV_RE.pattern}")  # never echo
    size = sum(len(k) + len(v) + VAR_OVERHEAD for k, v in env.items())
    # secrets are counted but never echoed in any message
    size += sum(len(k) + len(v) * 6 + VAR_OVERHEAD for k, v in (secrets or {}).items())
    if size + ENVELOPE_RESERVE > MAX_ENVELOPE:
        raise RequestTooLarge(
            f"request too large for one WinRM shell: {size + ENVELOPE_RESERVE} bytes of Create envelope "
            f"needed, MaxEnvelopeSize is {MAX_ENVELOPE} (request JSON {len(request_json)} characters); "
            "split the change into smaller requests")
    env.update(secrets or {})
    return env


def read_env_chunks(env: dict[str, str], prefix: str) -> str | None:
    """Join ``<prefix>0``, ``<prefix>1``... like the bootstrap does (None when ``<prefix>0`` is absent)."""
    parts: list[str] = []
    i = 0
    while f"{prefix}{i}" in env:
        parts.append(env[f"{prefix}{i}"])
        i += 1
    return "".join(parts) if parts else None


class RequestTooLarge(ProtocolError):
    """The request does not fit in one Create envelope."""
