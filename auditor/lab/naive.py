"""The "naive admin" one-liners the lab understands besides the auditor bootstrap.

The benchmark compares the auditor's one command per node with how an admin script would
collect the same facts through ``Session.run_ps``: one PowerShell one-liner per fact. The lab
answers exactly the one-liners in :data:`NAIVE_COMMANDS`, as Windows PowerShell 5.1 would
(Get-Content's ANSI default, ConvertTo-Json's numbers for enums); anything else is refused by
the executor.
"""

from __future__ import annotations

import json
import re

from auditor.lab.node_data import LabNode
from auditor.lab.winrm.handler import CommandResult

_Q = r"'((?:[^']|'')*)'"
_STATUS = {"running": 4, "stopped": 1, "startpending": 2, "stoppending": 3, "continuepending": 5,
           "pausepending": 6, "paused": 7}
_START_TYPE = {"boot": 0, "system": 1, "auto": 2, "manual": 3, "disabled": 4}


def _unq(s: str) -> str:
    return s.replace("''", "'")


def _ps51_text(data: bytes) -> str:
    """Windows PowerShell 5.1 Get-Content without -Encoding: BOM if present, else ANSI (1252)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le", errors="replace")
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", errors="replace")
    return data.decode("cp1252", errors="replace")


NAIVE_COMMANDS: list[tuple[str, str]] = [
    (rf"^Get-Content -Raw -LiteralPath {_Q}$", "file text (PS 5.1 default encoding: BOM, else ANSI 1252)"),
    (rf"^Get-Service -Name {_Q} \| Select-Object Name,Status,StartType \| ConvertTo-Json$",
     "service as PS 5.1 ConvertTo-Json (Status/StartType as numbers)"),
    (rf"^Test-Path -LiteralPath {_Q}$", "True/False (files, folders, declared probes)"),
    (r"^hostname$", "the node's hostname"),
    (rf"^Get-ItemPropertyValue -LiteralPath {_Q} -Name {_Q}$", "one registry value (HKLM:\\... path)"),
    (r"^\(Get-CimInstance Win32_Service -Filter \"Name='([^'\"]*)'\"\)\.StartName$", "a service's account"),
]
"""The exact one-liners the lab understands besides the auditor bootstrap (regex, meaning)."""


def _naive_0(node: LabNode, path: str) -> CommandResult:  # Get-Content -Raw
    real = node.path(path)
    if real is None or not real.is_file():
        return CommandResult("", f"Get-Content : Cannot find path '{path}' because it does not exist.", 1)
    return CommandResult(_ps51_text(real.read_bytes()).replace("\r\n", "\n") + "\n")


def _naive_1(node: LabNode, name: str) -> CommandResult:  # Get-Service | Select | ConvertTo-Json
    svc = node.find_service(node.load(), name)
    if svc is None:
        return CommandResult("", f"Get-Service : Cannot find any service with service name '{name}'.", 1)
    status = _STATUS.get(str(svc.get("state", "")).replace(" ", "").lower(), 1)
    start = _START_TYPE.get(str(svc.get("start_mode", "")).lower(), 3)
    name_json = json.dumps(svc["name"])
    return CommandResult(f'{{\n    "Name":  {name_json},\n    "Status":  {status},\n'
                         f'    "StartType":  {start}\n}}\n')


def _naive_2(node: LabNode, path: str) -> CommandResult:  # Test-Path
    probe = node.probe(path, node.load())
    return CommandResult("True\n" if probe["exists"] else "False\n")


def _naive_3(node: LabNode) -> CommandResult:  # hostname
    return CommandResult(node.hostname(node.load()) + "\n")


def _naive_4(node: LabNode, key: str, value: str) -> CommandResult:  # Get-ItemPropertyValue
    reg = node.load().get("registry") or {}
    k = re.sub(r"^HKLM:\\", "HKLM\\\\", key, flags=re.IGNORECASE)
    vals = next((v for kk, v in reg.items() if kk.lower() == k.lower()), None)
    if vals is None or value not in vals:
        what = f"Cannot find path '{key}' because it does not exist." if vals is None else \
            f"Property {value} does not exist at path {key}."
        return CommandResult("", f"Get-ItemPropertyValue : {what}", 1)
    v = vals[value]
    return CommandResult("\n".join(str(x) for x in v) + "\n" if isinstance(v, list) else f"{v}\n")


def _naive_5(node: LabNode, name: str) -> CommandResult:  # (Get-CimInstance Win32_Service ...).StartName
    svc = node.find_service(node.load(), name)
    return CommandResult("" if svc is None else f"{svc.get('account', '')}\n")


_HANDLERS = (_naive_0, _naive_1, _naive_2, _naive_3, _naive_4, _naive_5)


def run_naive(node: LabNode, script: str) -> CommandResult | None:
    """The answer to a known one-liner, or None when ``script`` is none of them."""
    for (rx, _meaning), handler in zip(NAIVE_COMMANDS, _HANDLERS, strict=True):
        m = re.match(rx, script)
        if m:
            with node.lock:
                return handler(node, *[_unq(g) for g in m.groups()])
    return None
