"""Java .properties: reading like java.util.Properties, editing minimally, byte-exact rendering."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.parsers import ParseError, PropertiesDocument
from auditor.parsers.properties import java_line, read_java_property
from auditor.remote.protocol import read_java_property as proto_read


def doc(text: str | bytes) -> PropertiesDocument:
    return PropertiesDocument(text.encode("utf-8") if isinstance(text, str) else text, "app.properties")


def test_separators_comments_and_blank_lines():
    d = doc("# comment\n! bang comment\n\na=1\nb = 2\nc:3\nd : 4\ne 5\n  f\t=\t6\ng\n")
    assert d.as_dict() == {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": ""}
    assert d.entry("b").sep == " = "
    assert d.entry("f").indent == "  "
    assert d.entry("e").lineno == 8


def test_escapes_and_unicode():
    d = doc("path=\\\\\\\\fs01\\\\share\\\\repo\nu=caf\\u00e9\ntab=a\\tb\nkey\\ with\\ spaces=v\\=x\nlead=\\  x\n")
    assert d.get("path") == "\\\\fs01\\share\\repo"
    assert d.get("u") == "café"
    assert d.get("tab") == "a\tb"
    assert d.get("key with spaces") == "v=x"
    assert d.get("lead") == "  x"


def test_continuation_lines():
    d = doc("list=a,\\\n    b,\\\r\n    c\nnext=1\neven=x\\\\\nafter=2\n")
    assert d.get("list") == "a,b,c"
    e = d.entry("list")
    assert (e.line, e.end) == (0, 3)
    assert d.get("next") == "1"
    assert d.get("even") == "x\\"  # even number of backslashes: no continuation
    assert d.get("after") == "2"


def test_comment_ending_in_backslash_does_not_continue():
    d = doc("# comment \\\na=1\n")
    assert d.as_dict() == {"a": "1"}


def test_malformed_unicode_escape_names_file_and_line():
    with pytest.raises(ParseError) as exc:
        doc("a=1\nb=2\nbad=\\u12G4\n")
    assert exc.value.line == 3
    assert "app.properties:3:" in str(exc.value)


def test_duplicates_reported_last_wins():
    d = doc("a=1\nb=2\na=3\n")
    assert d.get("a") == "3"
    assert d.duplicates() == {"a": [1, 3]}


@pytest.mark.parametrize("encoding,bom", [
    ("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE), ("latin-1", b""),
])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_encodings_round_trip_and_edit(encoding, bom, newline):
    text = newline.join(["# IMS", "server.port=5111", "repository.path=\\\\\\\\fs01\\\\r", "name=Café", ""])
    raw = bom + text.encode(encoding)
    d = PropertiesDocument(raw, "x")
    assert d.get("name") == "Café"
    assert d.get("repository.path") == "\\\\fs01\\r"
    assert d.render() == raw
    d.set("repository.path", "\\\\fs02\\share\\")
    d.set("added", "yes")
    out = d.render()
    assert out.startswith(bom)
    decoded = out[len(bom):].decode(encoding)
    assert decoded == newline.join(["# IMS", "server.port=5111", "repository.path=\\\\\\\\fs02\\\\share\\\\",
                                    "name=Café", "added=yes", ""])
    assert PropertiesDocument(out, "x").get("repository.path") == "\\\\fs02\\share\\"


def test_set_keeps_separator_style_comments_and_order():
    raw = b"# head\r\nalpha = 1\r\n\r\n# about beta\r\nbeta : two\r\ngamma=3"
    d = doc(raw)
    d.set("beta", "2")
    d.set("delta", "4", after="alpha")
    assert d.render() == b"# head\r\nalpha = 1\r\ndelta = 4\r\n\r\n# about beta\r\nbeta : 2\r\ngamma=3"
    d.set("omega", "9")
    assert d.render().endswith(b"gamma=3\r\nomega=9\r\n")


def test_set_on_continuation_entry_replaces_all_its_lines():
    d = doc("list=a,\\\n  b\nx=1\n")
    d.set("list", "c")
    assert d.render() == b"list=c\nx=1\n"


def test_remove_and_rename():
    d = doc("a=1\n# keep\nb=2\na=3\n")
    assert d.remove("a") is True
    assert d.render() == b"# keep\nb=2\n"
    assert d.remove("zzz") is False
    d.rename("b", "c")
    assert d.render() == b"# keep\nc=2\n"


def test_unencodable_value_in_latin1_file_becomes_unicode_escape():
    d = PropertiesDocument("a=é\n".encode("latin-1"), "x")
    d.set("b", "€")
    assert d.render() == "a=é\nb=\\u20ac\n".encode("latin-1")
    assert PropertiesDocument(d.render(), "x").get("b") == "€"


def test_special_characters_in_new_keys_and_values_round_trip():
    d = doc("")
    d.set("odd key=:#", " lead\ttab\nnl\\")
    again = PropertiesDocument(d.render(), "x")
    assert again.get("odd key=:#") == " lead\ttab\nnl\\"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_render_identically_when_unchanged(data):
    try:
        d = PropertiesDocument(data, "fuzz")
    except ParseError:
        return
    assert d.render() == data


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=20), max_size=6))
def test_set_values_read_back(values):
    d = doc("# generated\n")
    for k, v in values.items():
        d.set(k, v)
    again = PropertiesDocument(d.render(), "x")
    assert again.as_dict() == values


# ---- what the admin wrote and what the Java service reads -----------------------------------

def test_entry_keeps_the_line_as_written_and_the_value_java_reads():
    d = doc("# IMS\nrepository.path = \\\\fs01\\imsrepo\r\nok=\\\\\\\\fs01\\\\imsrepo\nsplit=a\\\n   b\\\\c\n")
    plain = d.entry("repository.path")
    assert plain.raw == "repository.path = \\\\fs01\\imsrepo\r\n"
    assert plain.raw_value == "\\\\fs01\\imsrepo"
    assert plain.value == "\\fs01imsrepo"
    assert d.entry("ok").value == "\\\\fs01\\imsrepo"
    split = d.entry("split")
    assert split.raw == "split=a\\\n   b\\\\c\n"
    assert split.raw_value == "ab\\\\c"
    assert split.value == "ab\\c"


def test_form_feed_escape_hidden_in_a_path():
    assert doc("p=\\\\fs01\\files\n").get("p") == "\\fs01\x0ciles"


def test_java_line_is_what_fixers_write():
    assert java_line("repository.path", "\\\\fs01\\imsrepo") == "repository.path=\\\\\\\\fs01\\\\imsrepo"
    assert java_line("k", " x", " : ", "  ") == "  k : \\ x"


def test_the_executor_reader_is_the_parser():
    """One rule: the probe_property reader (protocol) reads what the parser reads, and refuses
    (None) a file Java cannot load, where the parser raises."""
    text = "a=1\nrepository.path=\\\\fs01\\imsrepo\nu=\\u00e9\n"
    assert read_java_property(text, "repository.path") == doc(text).get("repository.path")
    assert read_java_property(text, "u") == "é"
    assert read_java_property("a=1\nbad=\\u12G4\n", "a") is None
    assert proto_read(b"\xef\xbb\xbfk=\\\\\\\\s\\\\x\n", "k") == "\\\\s\\x"


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(key=_text.filter(bool), value=_text, sep=st.sampled_from(["=", " = ", ":", " "]),
       indent=st.sampled_from(["", "  ", "\t"]))
def test_written_values_read_back_exactly(key, value, sep, indent):
    """parse(write(v)) == v for any key and value: the one escaping rule round-trips."""
    line = java_line(key, value, sep, indent)
    got = doc(f"# before\n{line}\nafter=1\n")
    assert got.get(key) == value
    assert got.get("after") == "1"


@settings(max_examples=200, deadline=None)
@given(value=_text, encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_set_round_trips_in_the_files_encoding(value, encoding):
    d = PropertiesDocument("a=1\r\nrepository.path=x\r\n".encode(encoding), "x")
    d.set("repository.path", value)
    again = PropertiesDocument(d.render(), "x")
    assert again.get("repository.path") == value
    assert again.get("a") == "1"
