"""Output folders of a run (``--out`` of audit and collect): created before the long part of the
work, and not left behind empty when the run ends without writing to them.

A live collection of a large cluster takes minutes, so a ``--out`` that cannot be created must
fail first, not after the collection. But a folder created that early and then abandoned (Ctrl-C
during the collection, a credential prompt that got no input) is clutter that looks like a
failed report: :func:`folder_for_run` removes again the folders it created if nothing was
written into them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from auditor.errors import AuditorError


def make_folder(path: Path, what: str) -> list[Path]:
    """Create ``path`` with its parents; returns the folders created, deepest first.
    ``what`` names the folder in the one-line error (``report folder``)."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file is in the way" if isinstance(exc, (FileExistsError, NotADirectoryError)) else (
            exc.strerror or str(exc))
        raise AuditorError(f"cannot create {what} {path}: {why}") from None
    if not path.is_dir():
        raise AuditorError(f"cannot create {what} {path}: a file is in the way")
    return missing


def remove_if_empty(created: list[Path]) -> None:
    """Remove the folders of ``created`` (deepest first) that are still empty."""
    for folder in created:
        try:
            folder.rmdir()
        except OSError:  # not empty (something was written), or gone: keep the rest too
            return


@contextlib.contextmanager
def folder_for_run(path: Path, what: str) -> Iterator[Path]:
    """``make_folder`` now; if the block is interrupted or fails, the folders it created are
    removed again when still empty."""
    created = make_folder(path, what)
    try:
        yield Path(path)
    except BaseException:
        remove_if_empty(created)
        raise
