"""Windows path rules: the one place that says how the auditor reads a Windows path.

The cluster model, the request protocol, the lab's executor and the IMS-REPO-SHARED check
all use these functions; the PowerShell executor (``auditor/remote/executor.ps1``, section
"Windows path rules") mirrors :func:`normalize`, :func:`is_absolute`, :func:`join`,
:func:`image_executable` and :func:`install_dir` once. Both sides are checked against one
table of cases, ``tests/remote/winpath_cases.json`` (see docs/architecture.md for what that
check proves about the PowerShell side and what it does not).

The rules, as Windows itself reads paths:

* ``/`` is a separator like ``\\`` (the vendor's own example repository path is
  ``//clusteredstorage/imsrepo``), so ``//server/share`` and ``\\\\server/share`` are the
  UNC path ``\\\\server\\share``;
* the ``\\\\?\\`` prefix (and ``\\\\?\\UNC\\`` for shares, ``\\??\\`` of kernel-style
  ImagePaths) only switches off Win32 path parsing: ``\\\\?\\C:\\x`` is ``C:\\x``;
* runs of separators are one separator (the leading ``\\\\`` of a UNC path excepted), and
  trailing separators are dropped (except the one of a drive root, ``C:\\``);
* case does not matter (NTFS, SMB): :func:`path_key` is the spelling to compare or index by,
  while :func:`normalize` keeps the case the node or the admin wrote.
"""

from __future__ import annotations

import re
from functools import lru_cache

_UNC_PREFIX = "\\\\?\\UNC\\"
_LONG_PREFIXES = ("\\\\?\\", "\\??\\")
_DRIVE_ROOT_RE = re.compile(r"^[A-Za-z]:\\\Z")
_ABSOLUTE_RE = re.compile(r"^(?:[A-Za-z]:\\|\\\\[^\\]+\\[^\\]+)")
_UNC_RE = re.compile(r"^\\\\([^\\]+)\\[^\\]+")
_EXE_RE = re.compile(r"^(.*?\.exe)(?:\s|$)", re.IGNORECASE)


def to_backslashes(path: str) -> str:
    return path.replace("/", "\\")


@lru_cache(maxsize=1 << 16)
def normalize(path: str) -> str:
    """The canonical spelling of ``path`` (case kept); see the module docstring.

    Cached: a 5,000-node audit asks for the same few hundred paths about 200,000 times (install
    folders, profile file names, probes), which cost over a second of a 5-second budget."""
    p = to_backslashes(path)
    if p[: len(_UNC_PREFIX)].upper() == _UNC_PREFIX:
        p = "\\\\" + p[len(_UNC_PREFIX):]
    elif p.startswith(_LONG_PREFIXES):
        p = p[4:]
    unc = p.startswith("\\\\")
    if unc:
        p = p.lstrip("\\")
    while "\\\\" in p:
        p = p.replace("\\\\", "\\")
    if not _DRIVE_ROOT_RE.match(p):
        p = p.rstrip("\\")
    return "\\\\" + p if unc else p


@lru_cache(maxsize=1 << 16)
def path_key(path: str) -> str:
    """Case-insensitive key of a Windows path: normalised and lower-cased.

    Use it for dictionary keys and comparisons (``C:/DP/SPOC/`` and ``c:\\dp\\spoc`` are one
    folder); show the admin :func:`normalize` or the path as written."""
    return normalize(path).lower()


def is_absolute(path: str) -> bool:
    """A drive path (``C:\\...``) or a UNC path with server and share, in any spelling."""
    return bool(_ABSOLUTE_RE.match(normalize(path)))


def is_unc(path: str) -> bool:
    """A share on a server (``\\\\server\\share\\...`` in any spelling); device paths
    (``\\\\.\\pipe\\x``) and drive paths are not."""
    m = _UNC_RE.match(normalize(path))
    return bool(m) and m.group(1) not in (".", "?")


def join(base: str, rel: str) -> str:
    """``rel`` below the folder ``base``, normalised; an absolute ``rel`` stands alone."""
    if is_absolute(rel):
        return normalize(rel)
    return normalize(base + "\\" + rel)


def split(path: str) -> tuple[str, str]:
    """(folder, last part) of a normalised path: ``C:\\a\\b.conf`` -> (``C:\\a``, ``b.conf``)."""
    folder, _, leaf = normalize(path).rpartition("\\")
    return folder, leaf


def image_executable(image_path: str) -> str:
    """The executable of a service ImagePath (``Win32_Service.PathName``), normalised.

    Quoted: up to the closing quote (``"C:\\Program Files\\X\\x.exe" -s`` ->
    ``C:\\Program Files\\X\\x.exe``). Unquoted: up to the first ``.exe`` followed by a space
    or the end (so ``C:\\Program Files\\X\\bin\\x.exe -s`` keeps its spaces), else up to the
    first space (``C:\\x\\prunsrv //RS//Svc`` -> ``C:\\x\\prunsrv``).
    """
    p = image_path.strip()
    if p.startswith('"'):
        end = p.find('"', 1)
        exe = p[1:end] if end > 0 else p[1:]
    else:
        m = _EXE_RE.match(p)
        exe = m.group(1) if m else p.split(" ", 1)[0]
    return normalize(exe)


def install_dir(image_path: str, strip: list[str] | tuple[str, ...]) -> str | None:
    """A subsystem's install folder: the folder of its ImagePath executable, minus the first
    profile tail in ``strip`` it ends with (case-insensitive; never stripped to nothing).
    None when the executable has no folder."""
    exe = image_executable(image_path)
    cut = exe.rfind("\\")
    if cut <= 0:
        return None
    folder = exe[:cut]
    for tail in strip:
        t = to_backslashes(tail)
        if t and len(folder) > len(t) and folder.lower().endswith(t.lower()):
            return folder[: len(folder) - len(t)]
    return folder


__all__ = ["image_executable", "install_dir", "is_absolute", "is_unc", "join", "normalize", "path_key", "split",
           "to_backslashes"]
