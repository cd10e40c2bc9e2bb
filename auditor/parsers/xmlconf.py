"""Safe XML reading for ``remoteConfImg.xml`` and ``*.exe.config`` files.

Collected files come from servers we audit, not from us, so they are untrusted input.
The stdlib parser does not fetch external entities, but it does expand internal ones
("billion laughs"); instead of depending on defusedxml we refuse any document with a
DOCTYPE or ENTITY declaration, which no legitimate file of these kinds contains.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from auditor.parsers.text import ParseError, decode_bytes

_FORBIDDEN = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


def parse_xml(data: bytes, source: str = "<xml>") -> ET.Element:
    """Parse XML bytes (any BOM/encoding :func:`decode_bytes` handles) into an element."""
    decoded = decode_bytes(data, source)
    text = decoded.text
    m = _FORBIDDEN.search(text)
    if m:
        line = text[: m.start()].count("\n") + 1
        raise ParseError(f"refusing XML with a {m.group(1).upper()} declaration", source=source, line=line)
    # The text is already decoded; an encoding="utf-16" declaration would now be a lie to
    # the parser, so the declaration is blanked (same length and line count kept).
    text = _XML_DECL.sub(lambda mm: " " * len(mm.group(0).replace("\n", "")) + "\n" * mm.group(0).count("\n"),
                         text, count=1)
    parser = ET.XMLParser()
    try:
        parser.feed(text)
        return parser.close()
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise ParseError(f"invalid XML: {exc}", source=source, line=line) from None


@dataclass
class XmlSettings:
    """Key/value settings found in an XML config, with their XML element line unknown."""

    values: dict[str, str] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)


def remote_conf_properties(data: bytes, source: str = "remoteConfImg.xml") -> XmlSettings:
    """``<configuration><property key=".." value=".."/>`` (value as attribute or child/text)."""
    root = parse_xml(data, source)
    out = XmlSettings()
    for prop in root.iter("property"):
        key = prop.get("key")
        if key is None:
            k = prop.find("key")
            key = (k.text or "").strip() if k is not None else None
        if not key:
            continue
        value = prop.get("value")
        if value is None:
            v = prop.find("value")
            value = (v.text or "") if v is not None else (prop.text or "").strip()
        if key in out.values:
            out.duplicates.append(key)
        out.values[key] = value
    return out


def app_settings(data: bytes, source: str = "app.exe.config") -> XmlSettings:
    """.NET ``<appSettings><add key=".." value=".."/>`` entries of a ``*.exe.config``."""
    root = parse_xml(data, source)
    out = XmlSettings()
    for section in root.iter("appSettings"):
        for add in section.findall("add"):
            key = add.get("key")
            if key is None:
                continue
            if key in out.values:
                out.duplicates.append(key)
            out.values[key] = add.get("value", "")
    return out
