"""Decoding (BOMs, UTF-16, legacy bytes, line endings) and the safe XML reader."""

from __future__ import annotations

import codecs

import pytest

from auditor.parsers import (
    ParseError,
    TextFile,
    app_settings,
    decode_bytes,
    parse_xml,
    remote_conf_properties,
)
from auditor.parsers.text import dominant_newline, split_lines


def test_decode_variants():
    assert decode_bytes(codecs.BOM_UTF8 + b"a=1").encoding == "utf-8"
    assert decode_bytes(codecs.BOM_UTF16_LE + "a=1".encode("utf-16-le")).text == "a=1"
    assert decode_bytes(codecs.BOM_UTF16_BE + "a=1".encode("utf-16-be")).text == "a=1"
    bomless = decode_bytes("key=value\r\n".encode("utf-16-le"))
    assert bomless.encoding == "utf-16-le"
    assert bomless.text == "key=value\r\n"
    legacy = decode_bytes(b"name=Caf\xe9\x81")  # not UTF-8: falls back losslessly
    assert legacy.encoding == "latin-1"
    assert legacy.encode() == b"name=Caf\xe9\x81"


def test_invalid_utf16_after_bom_is_parse_error():
    with pytest.raises(ParseError):
        decode_bytes(codecs.BOM_UTF16_LE + b"a\x00b")  # odd length


def test_split_lines_keeps_endings_and_odd_characters():
    assert split_lines("a\r\nb\nc\rd") == ["a\r\n", "b\n", "c\r", "d"]
    assert split_lines("x\x0cy\x85z\u2028w\n") == ["x\x0cy\x85z\u2028w\n"]
    assert dominant_newline(split_lines("a\nb\nc\r\n")) == "\n"
    assert dominant_newline(["single"]) == "\r\n"


def test_textfile_render_is_identical():
    raw = codecs.BOM_UTF8 + b"a\r\nb\nc"
    assert TextFile(raw).render() == raw


XML = ('<?xml version="1.0" encoding="{enc}"?>\r\n<configuration>\r\n'
       '  <property key="orsFailoverLockManager" value="true"/>\r\n'
       '  <property key="spocGroupName"><value>default</value></property>\r\n</configuration>\r\n')


@pytest.mark.parametrize("enc,codec,bom", [("UTF-8", "utf-8", b""), ("UTF-8", "utf-8", codecs.BOM_UTF8),
                                           ("UTF-16", "utf-16-le", codecs.BOM_UTF16_LE)])
def test_remote_conf_properties(enc, codec, bom):
    data = bom + XML.format(enc=enc).encode(codec)
    settings = remote_conf_properties(data)
    assert settings.values == {"orsFailoverLockManager": "true", "spocGroupName": "default"}


def test_app_settings():
    data = (b'<?xml version="1.0"?><configuration><appSettings><add key="A" value="1"/>'
            b'<add key="A" value="2"/></appSettings></configuration>')
    s = app_settings(data)
    assert s.values == {"A": "2"}
    assert s.duplicates == ["A"]


def test_doctype_and_entities_are_refused_with_line():
    evil = b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n]>\n<configuration>&lol;</configuration>'
    with pytest.raises(ParseError) as exc:
        parse_xml(evil, "remoteConfImg.xml")
    assert exc.value.line == 2
    assert "DOCTYPE" in str(exc.value)


def test_malformed_xml_names_line():
    with pytest.raises(ParseError) as exc:
        parse_xml(b"<configuration>\n  <property key='a'>\n</configuration>\n", "x.xml")
    assert exc.value.line == 3
    assert str(exc.value).startswith("x.xml:3:")
