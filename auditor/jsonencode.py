"""JSON text written many times with one encoder: the reports' evidence and the history's.

A 5,000-node audit encodes ~100,000 small values per report format and again for the history
file; ``json.JSONEncoder.encode`` builds a new C encoder for each call, which was about a third
of that encoding time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def reusable_encoder(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """``encoder.encode`` with CPython's C encoder built once instead of on every call.

    ``JSONEncoder.encode`` builds a new C encoder per call; at 105,000 findings that set-up was a
    third of the encoding time. The C encoder built once and called per value gives the same
    text (what ``JSONEncoder.iterencode`` does in one shot). Without the C encoder, or with
    ``indent``, it is ``encoder.encode`` itself."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None or encoder.indent is not None:  # pragma: no cover - CPython has the C encoder
        return encoder.encode
    strings = json.encoder.encode_basestring_ascii if encoder.ensure_ascii else json.encoder.encode_basestring
    markers: dict[int, Any] | None = {} if encoder.check_circular else None
    one = make(markers, encoder.default, strings, None, encoder.key_separator,
               encoder.item_separator, encoder.sort_keys, encoder.skipkeys, encoder.allow_nan)
    join = "".join
    whole = encoder.encode

    def encode(value: Any) -> str:
        if type(value) is str:  # JSONEncoder.encode's own shortcut for a bare text
            return whole(value)
        try:
            return join(one(value, 0))
        except BaseException:
            # the C encoder leaves the containers it was inside in its circular-reference
            # markers when encoding fails; a fresh JSONEncoder.encode starts with none, so must
            # the next call here (else the same value reads as a circular reference)
            if markers:
                markers.clear()
            raise

    return encode


__all__ = ["reusable_encoder"]
