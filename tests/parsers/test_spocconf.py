"""spoc.conf: tolerant reading, the numbered server list, and minimal edits."""

from __future__ import annotations

import codecs

import pytest

from auditor.parsers import ParseError, SpocConfDocument
from auditor.profile import load_profile

BASE = (
    "# Spooler Controller\r\n"
    "localGUID=spoc-a\r\n"
    "\r\n"
    "serverGUID = {AAA}\r\n"
    "serverIP = 10.0.0.1\r\n"
    "serverPORT = 6010\r\n"
    "serverGUID2 = bbb\r\n"
    "serverIP2 = 10.0.0.2\r\n"
    "serverPORT2 = 6010\r\n"
    "\r\n"
    "; other settings\r\n"
    "! bang\r\n"
    "unknownKey=kept\r\n"
)


def doc(text: str, **kw) -> SpocConfDocument:
    return SpocConfDocument(text.encode("utf-8"), "spoc.conf", **kw)


def test_reads_servers_comments_and_unknown_keys():
    d = doc(BASE)
    servers = d.servers()
    assert [(s.index, s.guid, s.ip, s.port) for s in servers] == [
        (1, "{AAA}", "10.0.0.1", "6010"), (2, "bbb", "10.0.0.2", "6010")]
    assert servers[0].lines == {"guid": 4, "ip": 5, "port": 6}
    assert d.get("unknownKey") == "kept"
    assert d.get("localGUID") == "spoc-a"
    assert d.server_key_problems() == []


def test_whitespace_around_keys_and_values():
    d = doc("  serverGUID\t=  g1  \nserverIP=  10.0.0.1\nserverPORT=6010   \n")
    s = d.servers()[0]
    assert (s.guid, s.ip, s.port) == ("g1", "10.0.0.1", "6010")


def test_malformed_line_names_file_and_line():
    with pytest.raises(ParseError) as exc:
        doc("# ok\nserverGUID=a\nthis line has no separator\n")
    assert exc.value.line == 3
    assert "spoc.conf:3:" in str(exc.value)
    with pytest.raises(ParseError) as exc:
        doc("a=1\n = value\n")
    assert exc.value.line == 2


def test_comment_prefixes_come_from_profile():
    with pytest.raises(ParseError):
        doc("; semicolon comment\n", comment_prefixes=["#"])
    prof = load_profile()
    d = SpocConfDocument.from_profile(b"; c\n! c\n# c\nserverGUID=x\n", "spoc.conf", prof)
    assert d.get("serverGUID") == "x"


def test_numbering_problems_duplicates_gaps_incomplete():
    d = doc("serverGUID=a\nserverIP=1.1.1.1\nserverPORT=1\nserverGUID3=c\nserverIP3=3.3.3.3\n"
            "serverPORT3=3\nserverIP=1.1.1.9\n")
    problems = d.server_key_problems()
    assert any("serverIP written 2 times (lines 2, 7)" in p for p in problems)
    assert any("gap in numbering: no entry 2" in p for p in problems)
    d2 = doc("serverGUID=a\nserverIP=1.1.1.1\n")
    assert any("lacks serverPORT" in p for p in d2.server_key_problems())
    d3 = doc("serverGUID1=a\nserverIP1=1.1.1.1\nserverPORT1=1\n")
    assert any("non-standard key serverGUID1" in p for p in d3.server_key_problems())


@pytest.mark.parametrize("bom,encoding", [(b"", "utf-8"), (codecs.BOM_UTF8, "utf-8"),
                                          (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_round_trip_and_append_server_keeps_style(bom, encoding):
    raw = bom + BASE.encode(encoding)
    d = SpocConfDocument(raw, "spoc.conf")
    assert d.render() == raw
    assert d.next_index() == 3
    assert d.append_server("ccc", "10.0.0.3", 6010) == 3
    out = d.render()
    assert out.startswith(bom)
    text = out[len(bom):].decode(encoding)
    assert text == BASE.replace("serverPORT2 = 6010\r\n",
                                "serverPORT2 = 6010\r\nserverGUID3 = ccc\r\nserverIP3 = 10.0.0.3\r\nserverPORT3 = 6010\r\n")


def test_append_to_empty_and_to_file_without_final_newline():
    d = doc("# nothing yet")
    assert d.append_server("g", "1.2.3.4", 6010) == 1
    assert d.render() == b"# nothing yet\r\nserverGUID=g\r\nserverIP=1.2.3.4\r\nserverPORT=6010\r\n"
    d2 = doc("serverGUID=a\nserverIP=1.1.1.1\nserverPORT=1")
    d2.append_server("b", "2.2.2.2", 2)
    assert d2.render() == b"serverGUID=a\nserverIP=1.1.1.1\nserverPORT=1\nserverGUID2=b\nserverIP2=2.2.2.2\nserverPORT2=2\n"


def test_remove_server_renumbers_without_gap():
    d = doc(BASE)
    d.append_server("ccc", "10.0.0.3", 6010)
    d.remove_server(1)
    assert [(s.index, s.guid) for s in d.servers()] == [(1, "bbb"), (2, "ccc")]
    text = d.render().decode()
    assert "serverGUID = bbb\r\nserverIP = 10.0.0.2\r\n" in text
    assert "{AAA}" not in text
    assert "serverGUID3" not in text
    assert "; other settings" in text
    assert "unknownKey=kept" in text
    assert d.server_key_problems() == []


def test_set_server_replaces_in_place_and_fills_missing_field():
    d = doc(BASE)
    d.set_server(2, ip="10.0.0.22")
    assert d.render().decode() == BASE.replace("serverIP2 = 10.0.0.2", "serverIP2 = 10.0.0.22")
    d2 = doc("serverGUID=a\nserverIP=1.1.1.1\nother=x\n")
    d2.set_server(1, port=6010)
    assert d2.render() == b"serverGUID=a\nserverIP=1.1.1.1\nserverPORT=6010\nother=x\n"


def test_set_and_remove_plain_keys():
    d = doc(BASE)
    d.set("localGUID", "spoc-b")
    d.remove("unknownKey")
    text = d.render().decode()
    assert "localGUID=spoc-b\r\n" in text
    assert "unknownKey" not in text
    assert text.count("\n") == BASE.count("\n") - 1


def test_value_with_line_break_is_refused():
    d = doc(BASE)
    with pytest.raises(ValueError):
        d.set("x", "a\nb")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_raise_and_render_identically(data):
    try:
        d = SpocConfDocument(data, "fuzz")
    except ParseError as exc:
        assert exc.line is not None
        assert exc.line >= 1
        return
    assert d.render() == data


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"[A-Za-z0-9{}-]{1,12}", fullmatch=True),
                          st.from_regex(r"[0-9.]{1,15}", fullmatch=True)), max_size=5))
def test_appended_servers_read_back_in_order(servers):
    d = doc(BASE)
    for guid, ip in servers:
        d.append_server(guid, ip, 6010)
    again = SpocConfDocument(d.render(), "x")
    assert [(s.guid, s.ip) for s in again.servers()[2:]] == servers
    assert again.server_key_problems() == []
