"""The one output layer of every command: what reaches stdout and stderr is neutralised.

Text from nodes reaches the admin's terminal in many places: node names and reasons, the
lines of a configuration file in the ``auditor fix`` plan diff, values in ``auditor drift``,
cluster names in ``auditor history``. A comment line ``# \\x1b[2J\\x1b[8m hidden`` in a node's
spoc.conf could clear the screen or hide lines of the very diff an admin reviews before
``--apply``; an OSC sequence could retitle the window; a bidi override could reorder what a
line seems to say. Escaping at each printer missed some of them, so the command line wraps
``sys.stdout`` and ``sys.stderr`` once, for the whole run (:func:`safe_output`): every
character written that is a control character (C0 but TAB and newline, DEL, C1, the bidi
controls) is written as a visible escape (:func:`auditor.safetext.neutralise`), on a
terminal and off it (a log file read with ``less -R`` or ``cat`` is a terminal too).

The tool's own control output (the ``\\r`` that redraws the progress line) goes through
:func:`status_line`, the only way to send a control character past the layer. A value shown
inside a table cell or on one line uses :func:`auditor.safetext.one_line` as well, so a
newline from the data cannot start a line of its own.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from auditor.safetext import neutralise


class SafeTextStream:
    """A text stream that writes everything through :func:`neutralise` to ``inner``.

    It has no ``buffer`` attribute on purpose: Click (and anything else) writes bytes to a
    stream's buffer when it finds one, which would bypass the layer."""

    def __init__(self, inner: TextIO):
        self._inner = inner

    @property
    def inner(self) -> TextIO:
        return self._inner

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._inner.write(neutralise(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def write_control(self, text: str) -> None:
        """Write ``text`` as it is: only for control characters the tool itself sends."""
        self._inner.write(text)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            raise AttributeError(name)
        return getattr(self._inner, name)


@contextlib.contextmanager
def safe_output() -> Iterator[None]:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in :class:`SafeTextStream` for the block."""
    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, SafeTextStream) and sys.stdout is not None:
        sys.stdout = SafeTextStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, SafeTextStream) and sys.stderr is not None:
        sys.stderr = SafeTextStream(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        for wrapped in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                wrapped.flush()
        sys.stdout, sys.stderr = saved


def output_width(wide: bool = False) -> int | None:
    """The width console tables and paragraphs wrap to: None with ``--wide`` (one line per row,
    for logs and grep), else the terminal's columns (100 when the output is no terminal)."""
    return None if wide else shutil.get_terminal_size((100, 24)).columns


def status_line(text: str, *, err: bool = True) -> None:
    """Redraw the current line with ``text`` (a progress counter): ``\\r`` + the neutralised
    text, no newline. The carriage return is the tool's own, the text is not."""
    stream = sys.stderr if err else sys.stdout
    body = neutralise(text)
    if isinstance(stream, SafeTextStream):
        stream.write_control("\r")
        stream.write(body)
    else:
        stream.write("\r" + body)
    stream.flush()
