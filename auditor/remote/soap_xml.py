"""pywinrm's SOAP messages written without xmltodict's per-element overhead (client CPU per node).

pywinrm builds every WS-Management message (Create, Command, Receive, Signal, Delete) as a
dict and writes it with ``xmltodict.unparse``: 0.3-0.5 ms of CPU per message, about 2 ms per
node, mostly xmltodict's per-name validation and the SAX generator's per-call overhead for a
few dozen elements. :func:`unparse` writes the same text for the same dict (the same
declaration, elements never self-closed, children before text, text and attributes escaped by
the same ``xml.sax.saxutils`` functions), and hands any shape it does not handle itself
(comments, ``@xmlns`` mappings, bytes, unusual names, several roots, options) to
``xmltodict.unparse``, which then decides as before. :func:`install` makes pywinrm's protocol
module use it; pywinrm itself is unchanged. tests/remote/test_soap_xml.py compares the two
writers on every message the client sends and on generated documents.
"""

from __future__ import annotations

import functools
import re
import types
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import xmltodict

_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
_NAME = re.compile(r"[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?")


class _Unusual(Exception):
    """A shape left to xmltodict itself."""


@functools.lru_cache(maxsize=1024)
def _attribute(value: str) -> str:
    """``quoteattr(value)``; the same few namespace URIs and names recur in every message."""
    return quoteattr(value)


def _escaped(text: str) -> str:
    """``escape(text)``, skipped when there is nothing to escape (the usual case)."""
    return escape(text) if ("&" in text or "<" in text or ">" in text) else text


@functools.lru_cache(maxsize=512)
def _plain_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def _checked(name: Any) -> str:
    if not isinstance(name, str) or not _plain_name(name):
        raise _Unusual
    return name


def _text(value: Any) -> str:
    """xmltodict's string form of a value (bytes are left to xmltodict)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise _Unusual
    return str(value)


def _emit(key: Any, value: Any, out: list[str], root: bool = False) -> None:
    key = _checked(key)
    if value is None or isinstance(value, (str, dict)) or not hasattr(value, "__iter__"):
        items: Any = (value,)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raise _Unusual
    else:
        items = list(value)
        if root and len(items) > 1:
            raise _Unusual  # several roots: xmltodict's error
    for item in items:
        if item is None:
            item = {}
        elif not isinstance(item, dict):
            if hasattr(item, "__iter__") and not isinstance(item, str):
                raise _Unusual
            item = {"#text": _text(item)}
        attrs: list[str] = []
        children: list[tuple[Any, Any]] = []
        text = None
        for k, v in item.items():
            if k == "#text":
                text = None if v is None else _text(v)
            elif isinstance(k, str) and k.startswith("@"):
                if k == "@xmlns" and isinstance(v, dict):
                    raise _Unusual
                attrs.append(f" {_checked(k[1:])}={_attribute('' if v is None else _text(v))}")
            elif isinstance(v, list) and not v:
                continue  # xmltodict writes no element for an empty list
            else:
                children.append((k, v))
        out.append(f"<{key}{''.join(attrs)}>")
        for child_key, child_value in children:
            _emit(child_key, child_value, out)
        if text:
            out.append(_escaped(text))
        out.append(f"</{key}>")


def unparse(input_dict: Any, *args: Any, **kwargs: Any) -> Any:
    """``xmltodict.unparse(input_dict)``, faster for the documents pywinrm builds."""
    if args or kwargs or not isinstance(input_dict, dict) or len(input_dict) != 1:
        return xmltodict.unparse(input_dict, *args, **kwargs)
    out = [_DECLARATION]
    try:
        for key, value in input_dict.items():
            _emit(key, value, out, root=True)
    except _Unusual:
        return xmltodict.unparse(input_dict)
    return "".join(out)


class _XmltodictForPywinrm(types.ModuleType):
    """What ``winrm.protocol`` sees as ``xmltodict``: this module's ``unparse``, the rest xmltodict's."""

    unparse = staticmethod(unparse)

    def __getattr__(self, name: str) -> Any:
        return getattr(xmltodict, name)


def install() -> None:
    """Make pywinrm's protocol module write its messages with :func:`unparse` (idempotent)."""
    import winrm.protocol

    if not isinstance(winrm.protocol.xmltodict, _XmltodictForPywinrm):
        winrm.protocol.xmltodict = _XmltodictForPywinrm("xmltodict")  # type: ignore[attr-defined]
