"""WS-Management / WinRS operations of the lab endpoint: parse SOAP, run shells, build replies.

This layer is transport-free: it takes a decrypted SOAP request and the authenticated user and
returns a status code and a SOAP reply (or "drop the connection"). The reply shapes follow what
pywinrm reads (docs/winrm.md, the operations table and pitfall 5): ShellId as a ``w:Selector``, ``CommandId``,
``RelatesTo`` echoing the request's MessageID, exactly one ``CommandState/Done`` carrying
``ExitCode``, and faults with real WSManFault codes.

It also owns the Windows behaviour every handler must get for free: the cmd.exe command-line
limit, console-codepage encoding with CRLF line endings, and CLIXML-wrapped error records.
"""

from __future__ import annotations

import base64
import codecs
import logging
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from auditor.lab.winrm.handler import (
    CMD_LINE_LIMIT,
    CMD_LINE_TOO_LONG,
    CREATE_PROCESS_LIMIT,
    CommandHandler,
    CommandResult,
    ShellContext,
)

log = logging.getLogger(__name__)

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
CMD_RESOURCE = f"{SHELL_URI}/cmd"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

ACTION_CREATE = f"{TRANSFER}/Create"
ACTION_DELETE = f"{TRANSFER}/Delete"
ACTION_COMMAND = f"{SHELL_URI}/Command"
ACTION_RECEIVE = f"{SHELL_URI}/Receive"
ACTION_SIGNAL = f"{SHELL_URI}/Signal"
ACTION_SEND = f"{SHELL_URI}/Send"
SHORT_ACTION = {ACTION_CREATE: "Create", ACTION_DELETE: "Delete", ACTION_COMMAND: "Command",
                ACTION_RECEIVE: "Receive", ACTION_SIGNAL: "Signal", ACTION_SEND: "Send"}

# Real WSManFault codes (0x8033805B, 0x80338029). The ActionNotSupported / InvalidParameter
# codes are INFERRED (no real host checked), the first two are what pywinrm users report.
CODE_SHELL_NOT_FOUND = 2150858843
CODE_TIMED_OUT = 2150858793
CODE_ACTION_NOT_SUPPORTED = 2150858754
CODE_INVALID_PARAMETER = 87

CODE_ENCODING_LIMIT = 2150858817  # INFERRED

DEFAULT_MAX_ENVELOPE = 153600
SERVER_MAX_ENVELOPE = 500 * 1024  # the service's MaxEnvelopeSizekb default (500)
ENV_VALUE_LIMIT = 32767  # longest value of one Windows environment variable
ENVELOPE_OVERHEAD = 4096  # room for headers/stream elements around the base64 output


class WSManFault(Exception):
    """A SOAP fault to send back (HTTP 500)."""

    def __init__(self, code: str, subcode: str, reason: str, wsman_code: int):
        super().__init__(reason)
        self.code, self.subcode, self.reason, self.wsman_code = code, subcode, reason, wsman_code


@dataclass
class WSManReply:
    status: int
    body: bytes
    action: str  # short action name for counters ("Create", "Receive", "fault"...)
    drop: bool = False  # close the TCP connection without answering


def encode_console(text: str, codepage: int) -> bytes:
    """Text as a Windows console writes it: CRLF line endings, codepage with '?' for the rest."""
    text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    codec = "utf-8" if codepage == 65001 else f"cp{codepage}"
    return text.encode(codec, errors="replace")


def codepage_supported(codepage: int) -> bool:
    if codepage == 65001:
        return True
    try:
        codecs.lookup(f"cp{codepage}")
    except LookupError:
        return False
    return True


_CLIXML_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)|[\x00-\x1f]")


def clixml_escape(text: str) -> str:
    """PowerShell's CLIXML string escaping: control chars as _xHHHH_, a literal '_xHHHH_' guarded."""
    def sub(m: re.Match[str]) -> str:
        if m.group(1):
            return "_x005F_" + m.group(1)
        return f"_x{ord(m.group(0)):04X}_"
    return escape(_CLIXML_ESCAPE.sub(sub, text))


def clixml_error(text: str) -> str:
    """stderr of ``powershell -EncodedCommand`` for error records: one ``S="Error"`` per line."""
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    parts = "".join(f'<S S="Error">{clixml_escape(line)}_x000D__x000A_</S>' for line in lines)
    return ('#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
            f"{parts}</Objs>")


def is_powershell(command_line: str) -> bool:
    first = command_line.strip().split(None, 1)[0].strip('"').lower() if command_line.strip() else ""
    name = first.replace("/", "\\").rsplit("\\", 1)[-1]
    return name in ("powershell", "powershell.exe", "pwsh", "pwsh.exe")


@dataclass
class _Command:
    command_id: str
    stdout: bytes
    stderr: bytes
    exit_code: int
    pending_timeouts: int
    ready_at: float = 0.0  # time.monotonic() when the command's output exists (exec_seconds fault)
    out_pos: int = 0
    err_pos: int = 0
    stdin: bytearray = field(default_factory=bytearray)

    @property
    def finished(self) -> bool:
        return self.out_pos >= len(self.stdout) and self.err_pos >= len(self.stderr)


@dataclass
class _Shell:
    context: ShellContext
    owner: str
    commands: dict[str, _Command] = field(default_factory=dict)


@dataclass
class _Request:
    action: str
    message_id: str
    max_envelope: int
    shell_id: str | None
    options: dict[str, str]
    body: ET.Element
    operation_timeout: float = 60.0  # w:OperationTimeout (seconds) the client asked for


def _text(el: ET.Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def parse_request(data: bytes) -> _Request:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WSManFault("s:Sender", "w:SchemaValidationError",
                         f"The SOAP XML in the message does not match the corresponding XML schema definition. "
                         f"({exc})", 2150858817) from None
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    if header is None:
        raise WSManFault("s:Sender", "w:SchemaValidationError", "The SOAP envelope has no Header.", 2150858817)
    if body is None:  # an empty body may be left out entirely
        body = ET.Element(f"{{{NS['s']}}}Body")
    try:
        max_env = int(_text(header.find("w:MaxEnvelopeSize", NS)) or DEFAULT_MAX_ENVELOPE)
    except ValueError:
        max_env = DEFAULT_MAX_ENVELOPE
    shell_id = None
    for sel in header.iterfind("w:SelectorSet/w:Selector", NS):
        if sel.get("Name") == "ShellId":
            shell_id = _text(sel)
    options = {opt.get("Name", ""): _text(opt) for opt in header.iterfind("w:OptionSet/w:Option", NS)}
    m = _DURATION_SECONDS.match(_text(header.find("w:OperationTimeout", NS)))
    return _Request(action=_text(header.find("a:Action", NS)), message_id=_text(header.find("a:MessageID", NS)),
                    max_envelope=max_env, shell_id=shell_id, options=options, body=body,
                    operation_timeout=float(m.group(1)) if m else 60.0)


_DURATION_SECONDS = re.compile(r"^PT(\d+(?:\.\d+)?)S$")


def envelope(action: str, relates_to: str, body: str) -> bytes:
    ns = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items() if k != "f")
    return (
        f'<s:Envelope xml:lang="en-US" {ns}><s:Header>'
        f"<a:Action>{escape(action)}</a:Action><a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        f"<a:To>{ANONYMOUS}</a:To><a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def fault_envelope(fault: WSManFault, relates_to: str) -> bytes:
    body = (
        f'<s:Fault><s:Code><s:Value>{escape(fault.code)}</s:Value><s:Subcode><s:Value>{escape(fault.subcode)}'
        f'</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}</s:Text>'
        f'</s:Reason><s:Detail><f:WSManFault xmlns:f="{NS["f"]}" Code="{fault.wsman_code}" Machine="127.0.0.1">'
        f"<f:Message>{escape(fault.reason)}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    return envelope(FAULT_ACTION, relates_to, body)


class WSManService:
    """Shell and command state of one lab server, and the operations on it (thread-safe).

    ``timeout_faults``, ``drop_mid_receive``, ``chunk_bytes`` and ``exec_seconds`` are the
    protocol-level faults (see ``LabFaults``); everything node-specific is the handler's business.

    ``exec_seconds`` is the remote execution time of a real node (PowerShell start and the
    work itself, 1-3 s on a print server): Command answers at once, and a Receive waits for
    the output like WinRM does, at most its ``OperationTimeout``, after which it answers the
    ``w:TimedOut`` fault and the client asks again. ``stopping`` (set when the server stops)
    ends such a wait at once.
    """

    def __init__(self, handler: CommandHandler, *, timeout_faults: int = 0, drop_mid_receive: bool = False,
                 chunk_bytes: int | None = None, exec_seconds: float = 0.0,
                 stopping: threading.Event | None = None):
        self.handler = handler
        self.exec_seconds = exec_seconds
        self.stopping = stopping or threading.Event()
        self.timeout_faults = timeout_faults
        self.drop_mid_receive = drop_mid_receive
        self.chunk_bytes = chunk_bytes
        self._lock = threading.Lock()
        self._shells: dict[str, _Shell] = {}
        self._dropped = False
        self.commands_run = 0

    @property
    def shells_open(self) -> int:
        with self._lock:
            return len(self._shells)

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, data: bytes, username: str) -> WSManReply:
        relates = ""
        try:
            if len(data) > SERVER_MAX_ENVELOPE:
                raise WSManFault("s:Sender", "w:EncodingLimit",
                                 "The WS-Management service cannot process the request because the request "
                                 f"envelope ({len(data)} bytes) is larger than MaxEnvelopeSizekb "
                                 f"({SERVER_MAX_ENVELOPE // 1024}).", CODE_ENCODING_LIMIT)
            req = parse_request(data)
            relates = req.message_id
            op = SHORT_ACTION.get(req.action)
            if op is None:
                raise WSManFault("s:Sender", "a:ActionNotSupported",
                                 f"The WS-Management service cannot process the request because the action "
                                 f"{req.action!r} is not supported by this lab endpoint.", CODE_ACTION_NOT_SUPPORTED)
            method = getattr(self, f"_op_{op.lower()}")
            result = method(req, username)
            if result is None:  # drop the connection
                return WSManReply(status=0, body=b"", action=op, drop=True)
            reply_action, body = result
            return WSManReply(status=200, body=envelope(reply_action, relates, body), action=op)
        except WSManFault as fault:
            return WSManReply(status=500, body=fault_envelope(fault, relates), action="fault")
        except Exception as exc:  # a lab bug: answer loudly instead of dropping the connection
            log.exception("lab WS-Management layer failed")
            fault = WSManFault("s:Receiver", "w:InternalError", f"lab internal error: {type(exc).__name__}: {exc}",
                               CODE_INVALID_PARAMETER)
            return WSManReply(status=500, body=fault_envelope(fault, relates), action="fault")

    # -- helpers ----------------------------------------------------------------------------
    def _shell(self, req: _Request, username: str) -> _Shell:
        with self._lock:
            shell = self._shells.get((req.shell_id or "").upper())
        if shell is None or shell.owner.lower() != username.lower():
            raise WSManFault(
                "s:Sender", "w:InvalidSelectors",
                f"The request for the Windows Remote Shell with ShellId {req.shell_id} failed because the shell "
                "was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell "
                "no longer exists on the server. Provide the correct ShellId or create a new shell and retry the "
                "operation.", CODE_SHELL_NOT_FOUND)
        return shell

    @staticmethod
    def _command(shell: _Shell, command_id: str) -> _Command:
        cmd = shell.commands.get(command_id.upper())
        if cmd is None:
            raise WSManFault("s:Sender", "w:InvalidParameter",
                             f"The parameter is incorrect. (CommandId {command_id} not found in shell "
                             f"{shell.context.shell_id})", CODE_INVALID_PARAMETER)
        return cmd

    # -- operations -------------------------------------------------------------------------
    def _op_create(self, req: _Request, username: str) -> tuple[str, str]:
        shell_el = req.body.find("rsp:Shell", NS)
        if shell_el is None:
            raise WSManFault("s:Sender", "w:SchemaValidationError", "Create needs an rsp:Shell body.", 2150858817)
        try:
            codepage = int(req.options.get("WINRS_CODEPAGE") or 437)
        except ValueError:
            codepage = -1
        if not codepage_supported(codepage):
            raise WSManFault("s:Sender", "w:InvalidParameter", "The parameter is incorrect. (WINRS_CODEPAGE)",
                             CODE_INVALID_PARAMETER)
        env = {v.get("Name", ""): v.text or "" for v in shell_el.iterfind("rsp:Environment/rsp:Variable", NS)}
        for name, value in env.items():
            if len(value) > ENV_VALUE_LIMIT:
                # Windows caps one environment variable at 32767 characters; a request channel
                # relying on more would work here and fail in production.
                raise WSManFault("s:Sender", "w:InvalidParameter",
                                 f"The parameter is incorrect. (environment variable {name} is {len(value)} "
                                 f"characters; the limit is {ENV_VALUE_LIMIT})", CODE_INVALID_PARAMETER)
        wd = _text(shell_el.find("rsp:WorkingDirectory", NS)) or None
        shell_id = str(uuid.uuid4()).upper()
        ctx = ShellContext(shell_id=shell_id, env=env, working_directory=wd, codepage=codepage, username=username)
        with self._lock:
            self._shells[shell_id] = _Shell(context=ctx, owner=username)
        body = (
            f"<x:ResourceCreated><a:Address>http://127.0.0.1/wsman</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{CMD_RESOURCE}</w:ResourceURI><w:SelectorSet>"
            f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            f"</x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId>"
            f"<rsp:ResourceUri>{CMD_RESOURCE}</rsp:ResourceUri><rsp:Owner>{escape(username)}</rsp:Owner>"
            f"<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
            f"</rsp:Shell>"
        )
        return f"{TRANSFER}/CreateResponse", body

    def _op_delete(self, req: _Request, username: str) -> tuple[str, str]:
        shell = self._shell(req, username)
        with self._lock:
            self._shells.pop(shell.context.shell_id, None)
        return f"{TRANSFER}/DeleteResponse", ""

    def _op_command(self, req: _Request, username: str) -> tuple[str, str]:
        shell = self._shell(req, username)
        line_el = req.body.find("rsp:CommandLine", NS)
        if line_el is None:
            raise WSManFault("s:Sender", "w:SchemaValidationError", "Command needs rsp:CommandLine.", 2150858817)
        command = (line_el.findtext("rsp:Command", default="", namespaces=NS) or "").strip()
        arguments = [a.text or "" for a in line_el.iterfind("rsp:Arguments", NS)]
        skip = req.options.get("WINRS_SKIP_CMD_SHELL", "FALSE").upper() == "TRUE"
        full = " ".join([command, *arguments])
        cp = shell.context.codepage
        if len(full) > (CREATE_PROCESS_LIMIT if skip else CMD_LINE_LIMIT):
            # cmd.exe refuses before PowerShell starts: plain text, not CLIXML (docs/winrm.md).
            # With WINRS_SKIP_CMD_SHELL CreateProcess fails instead; same text kept (INFERRED).
            result_out, result_err, code = b"", encode_console(CMD_LINE_TOO_LONG + "\n", cp), 1
        else:
            try:
                res = self.handler.run(shell.context, command, arguments, skip)
            except Exception as exc:  # a handler bug must not hang the client: fail loudly
                log.exception("lab command handler failed")
                res = CommandResult(stdout="", error=f"lab handler error: {type(exc).__name__}: {exc}", exit_code=1)
            result_out = encode_console(res.stdout, cp)
            result_err = b""
            if res.error:
                text = clixml_error(res.error) if is_powershell(command) else res.error + "\n"
                result_err = encode_console(text, cp)
            code = res.exit_code
        command_id = str(uuid.uuid4()).upper()
        with self._lock:
            shell.commands[command_id] = _Command(command_id=command_id, stdout=result_out, stderr=result_err,
                                                  exit_code=code, pending_timeouts=self.timeout_faults,
                                                  ready_at=time.monotonic() + self.exec_seconds)
            self.commands_run += 1
        return f"{SHELL_URI}/CommandResponse", f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"

    def _op_receive(self, req: _Request, username: str) -> tuple[str, str] | None:
        shell = self._shell(req, username)
        desired = req.body.find("rsp:Receive/rsp:DesiredStream", NS)
        cmd = self._command(shell, (desired.get("CommandId") if desired is not None else "") or "")
        wait = cmd.ready_at - time.monotonic()
        if wait > 0:
            if self.stopping.wait(min(wait, req.operation_timeout)):
                return None  # the server is stopping: drop the connection
            if time.monotonic() < cmd.ready_at:
                raise WSManFault("s:Receiver", "w:TimedOut",
                                 "The WS-Management service cannot complete the operation within the time "
                                 "specified in OperationTimeout.", CODE_TIMED_OUT)
        with self._lock:
            if cmd.pending_timeouts > 0:
                cmd.pending_timeouts -= 1
                raise WSManFault("s:Receiver", "w:TimedOut",
                                 "The WS-Management service cannot complete the operation within the time "
                                 "specified in OperationTimeout.", CODE_TIMED_OUT)
            limit = max(1, (req.max_envelope - ENVELOPE_OVERHEAD) * 3 // 4)
            if self.chunk_bytes:
                limit = min(limit, self.chunk_bytes)
            out = cmd.stdout[cmd.out_pos:cmd.out_pos + limit]
            err = cmd.stderr[cmd.err_pos:cmd.err_pos + (limit - len(out))]
            if self.drop_mid_receive and not self._dropped and (out or err):
                self._dropped = True
                return None
            cmd.out_pos += len(out)
            cmd.err_pos += len(err)
            done = cmd.finished
        cid = cmd.command_id
        parts = []
        if out:
            parts.append(f'<rsp:Stream Name="stdout" CommandId="{cid}">{base64.b64encode(out).decode()}</rsp:Stream>')
        if err:
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{cid}">{base64.b64encode(err).decode()}</rsp:Stream>')
        if done:
            parts.append(f'<rsp:Stream Name="stdout" CommandId="{cid}" End="true"></rsp:Stream>')
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{cid}" End="true"></rsp:Stream>')
            parts.append(f'<rsp:CommandState CommandId="{cid}" State="{SHELL_URI}/CommandState/Done">'
                         f"<rsp:ExitCode>{cmd.exit_code}</rsp:ExitCode></rsp:CommandState>")
        else:
            parts.append(f'<rsp:CommandState CommandId="{cid}" State="{SHELL_URI}/CommandState/Running"/>')
        return f"{SHELL_URI}/ReceiveResponse", f"<rsp:ReceiveResponse>{''.join(parts)}</rsp:ReceiveResponse>"

    def _op_signal(self, req: _Request, username: str) -> tuple[str, str]:
        shell = self._shell(req, username)
        sig = req.body.find("rsp:Signal", NS)
        cid = (sig.get("CommandId") if sig is not None else "") or ""
        code = _text(sig.find("rsp:Code", NS)) if sig is not None else ""
        self._command(shell, cid)
        if code.endswith("/terminate") or code.endswith("/ctrl_c") or code.endswith("/ctrl_break"):
            with self._lock:
                shell.commands.pop(cid.upper(), None)
        return f"{SHELL_URI}/SignalResponse", "<rsp:SignalResponse/>"

    def _op_send(self, req: _Request, username: str) -> tuple[str, str]:
        shell = self._shell(req, username)
        for stream in req.body.iterfind("rsp:Send/rsp:Stream", NS):
            cmd = self._command(shell, stream.get("CommandId") or "")
            try:
                data = base64.b64decode(stream.text or "")
            except ValueError:
                data = b""
            with self._lock:
                cmd.stdin.extend(data)
        return f"{SHELL_URI}/SendResponse", "<rsp:SendResponse/>"


__all__ = ["WSManService", "WSManReply", "WSManFault", "encode_console", "clixml_error"]
