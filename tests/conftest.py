"""Suite-wide guard: every lab WinRM server a test module starts is stopped by it.

tests/lab checks this after every test; here it is checked once per module everywhere else
(module-scoped fixtures may share one lab between the tests of a module). A module that leaves
a listener behind fails at its last test, naming the threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest


def _lab_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lab-winrm-") and t.is_alive()]


@pytest.fixture(scope="module", autouse=True)
def _every_lab_server_stopped_by_its_module() -> Iterator[None]:
    yield
    deadline = time.monotonic() + 5  # connection threads end once their socket is closed
    while _lab_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _lab_threads(), f"lab servers or connections still running after this module: {_lab_threads()}"
