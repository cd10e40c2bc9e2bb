"""Which configuration keys hold secrets, and their values masked: one rule for every output.

The history store masks such values before they reach its file, and the ``auditor fix`` plan
diff masks the lines that hold them (a diff shows context lines around a change, and a real
configuration file may hold a database password next to the key being edited). Both use the
same default patterns; callers add the profile's ``management_conf.secret_key_patterns``,
and both lists apply: masking must fail safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from auditor.errors import InputError
from auditor.vocab import MASK

MASKED = MASK
"""What a secret-looking config value is shown and stored as."""

DEFAULT_SECRET_PATTERNS: tuple[str, ...] = ("(?i)pass", "(?i)secret", "(?i)token", "(?i)key$", "(?i)pwd", "(?i)credential")
"""Regular expressions (searched in the key): a key matching any of them holds a secret."""


def compile_patterns(patterns: Iterable[str]) -> list[re.Pattern[str]]:
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error as exc:
            raise InputError(f"invalid secret key pattern {p!r}: {exc}") from None
    return out


def is_secret_key(key: str, patterns: Iterable[str] = ()) -> bool:
    """True when ``key`` matches a default secret pattern or one of ``patterns``."""
    return any(rx.search(key) for rx in compile_patterns((*DEFAULT_SECRET_PATTERNS, *patterns)))


def mask_value(key: str, value: Any, compiled: list[re.Pattern[str]], secret: bool | None = None) -> tuple[str | None, bool]:
    """``secret``: whether ``key`` matches ``compiled``, when the caller already knows."""
    text = None if value is None else str(value)
    if secret is None:
        secret = any(rx.search(key) for rx in compiled)
    if text is not None and text != "" and secret:
        return MASKED, True
    return text, False


def mask_config_value(key: str, value: str | None, patterns: Iterable[str] = ()) -> tuple[str | None, bool]:
    """``(stored_value, masked)``: secret-looking keys are stored as :data:`MASKED`.

    An empty or missing secret stays as it is (``""``/None): "the password is empty" is a
    finding worth seeing and reveals nothing.
    """
    return mask_value(key, value, compile_patterns((*DEFAULT_SECRET_PATTERNS, *patterns)))
