"""The process-wide NTLM users file that pyspnego's NTLM acceptor reads.

pyspnego's acceptor cannot be given credentials directly: it looks the user up in the file
named by ``NTLM_USER_FILE`` at authentication time (docs/winrm.md, pitfall 10). That variable is
process-global, so every lab server in a process shares one file. This module owns it: it
creates the file once, sets the variable once, and rewrites the file atomically when a server
registers an account. Per-server differences (e.g. the ``wrong_password`` fault) are handled
by the server's own list of accepted accounts, checked after NTLM succeeds.

Limitation (by design of pyspnego): one password per account name per process; registering
the same name again with another password replaces it for every server in the process.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()
_dir: Path | None = None
_users: dict[tuple[str, str], str] = {}


def split_account(username: str) -> tuple[str, str]:
    """``DOMAIN\\user`` -> (DOMAIN, user); ``user`` -> ("", user)."""
    if "\\" in username:
        domain, user = username.split("\\", 1)
        return domain, user
    return "", username


def ntlm_user_file() -> Path:
    """Create the users file and point ``NTLM_USER_FILE`` at it (once per process)."""
    global _dir
    with _lock:
        if _dir is None:
            _dir = Path(tempfile.mkdtemp(prefix="paragon-lab-ntlm-"))
            os.chmod(_dir, 0o700)
            atexit.register(shutil.rmtree, _dir, True)
            _write_locked()
        path = _dir / "ntlm-users"
        os.environ["NTLM_USER_FILE"] = str(path)
        return path


def register_ntlm_user(username: str, password: str) -> None:
    """Make ``username`` (bare or ``DOMAIN\\user``) valid for every NTLM acceptor in the process."""
    if ":" in username or "\n" in username or "\n" in password:
        raise ValueError("lab account names may not contain ':' or newlines")
    ntlm_user_file()
    with _lock:
        key = split_account(username)
        key = (key[0].upper(), key[1].lower())
        if _users.get(key) != password:
            _users[key] = password
            _write_locked()


def _write_locked() -> None:
    assert _dir is not None
    lines = [f"{dom}:{user}:{pw}" for (dom, user), pw in _users.items()]
    tmp = _dir / "ntlm-users.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, _dir / "ntlm-users")
