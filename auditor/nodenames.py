"""Node names an admin can tell apart: one rule for the inventory and the cluster manifest.

A node name is how a person finds a node in every report, in ``--node``, in the history and
in a fix plan. Two names that differ only by case (``MGMT1``, ``mgmt1``), by compatibility
forms (full-width ``ＭＧＭＴ1``), by an invisible character (``MGMT\\u200b1``) or by letters
of another script that look the same (Cyrillic ``Т`` in ``MGMТ1``, ``0``/``O``, ``1``/``l``)
would be two rows nobody can tell apart: a hostile or mistaken name could pass for the real
server. So names are compared by a *skeleton* (Unicode NFKC, invisible and control characters
dropped, look-alike letters mapped to one, case folded) and two names with the same skeleton
are refused, naming both. Distinct names in any script stay allowed (``Účtárna-1``,
``Сервер-1``); control characters in a name are shown escaped by every report and console
line (:mod:`auditor.safetext`).

The look-alike table is the common subset of Unicode's confusables (UTS #39) for letters that
pass for Latin ones, not the whole table: it covers what makes two host-like names identical
on screen.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from auditor.safetext import one_line

# Cyrillic and Greek letters drawn like Latin ones (mapped before case folding: a capital may
# look Latin where its small letter does not), and the characters a terminal font draws like a
# small L; after folding, zero is the letter O.
_LOOK_ALIKES = str.maketrans({
    **dict(zip("АВЕЅЈКМНОРСТХУаејорсухѕԁԛԝ", "ABESJKMHOPCTXYaejopcyxsdqw", strict=True)),
    **dict(zip("ΑΒΕΖΗΚΜΝΟΡΤΥΧορυνκ", "ABEZHKMNOPTYXopuvk", strict=True)),
    **dict.fromkeys("ІіΙιI1|ǀ", "l"),
})
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def skeleton(name: str) -> str:
    """What ``name`` looks like: equal skeletons are names a reader cannot tell apart."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE)
    return text.translate(_LOOK_ALIKES).casefold().replace("0", "o")


def look_alike_pairs(names: Iterable[str]) -> list[tuple[int, int]]:
    """Indexes ``(first, later)`` of every name that looks like an earlier one."""
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        key = skeleton(name)
        if key in seen:
            out.append((seen[key], i))
        else:
            seen[key] = i
    return out


def look_alike_message(first: str, later: str, where: str = "") -> str:
    """The error for ``later`` looking like ``first`` (``where``: e.g. " (line 5)")."""
    how = "differs only by case from" if first.casefold() == later.casefold() else "looks like"
    return (f"node name {one_line(later)!r} {how} {one_line(first)!r}{where}: names that differ only by case "
            "or by look-alike characters cannot be told apart in reports")
