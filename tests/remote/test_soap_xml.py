"""auditor.remote.soap_xml writes exactly what xmltodict.unparse writes: on every message the
client sends through pywinrm, and on generated documents (names, attributes, text that needs
escaping, lists, empty elements, values that are not strings)."""

from __future__ import annotations

from typing import Any

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st
from winrm.protocol import Protocol

from auditor.remote import soap_xml


class _Captured(Exception):
    pass


def _pywinrm_documents() -> list[dict[str, Any]]:
    """The dicts pywinrm builds for Create (with an environment), Command, Receive, Signal and
    Delete, caught before they are written (nothing is sent)."""
    import winrm.protocol

    documents: list[dict[str, Any]] = []

    def catch(document: dict[str, Any]) -> str:
        documents.append(document)
        raise _Captured

    p = Protocol("http://127.0.0.1:1/wsman", transport="ntlm", username="u", password="p",
                 message_encryption="never")
    saved = winrm.protocol.xmltodict
    winrm.protocol.xmltodict = type("Catch", (), {"unparse": staticmethod(catch)})
    try:
        for call in (lambda: p.open_shell(env_vars={"PA_REQ_1": "a<b>&\"c'\n", "PA_EMPTY": ""}, noprofile=True),
                     lambda: p.run_command("SHELL-1", "powershell -c \"1 & 2\"", ("x<y",)),
                     lambda: p.get_command_output_raw("SHELL-1", "CMD-1"),
                     lambda: p.cleanup_command("SHELL-1", "CMD-1"),
                     lambda: p.close_shell("SHELL-1")):
            with pytest.raises(_Captured):
                call()
    finally:
        winrm.protocol.xmltodict = saved
    return documents


@pytest.mark.parametrize("index", range(5))
def test_every_pywinrm_message_is_written_as_xmltodict_writes_it(index):
    document = _pywinrm_documents()[index]
    assert soap_xml.unparse(document) == xmltodict.unparse(document)


_names = st.sampled_from(["a", "rsp:Shell", "w:Option", "x-y.z", "_n1"])
_texts = st.text(alphabet=st.sampled_from(list("ab <>&\"'\n\r\t\u00e9")), max_size=12)
_scalars = st.one_of(st.none(), _texts, st.booleans(), st.integers(-5, 5))


def _elements(children: st.SearchStrategy) -> st.SearchStrategy:
    attrs = st.dictionaries(_names.map(lambda n: "@" + n), _scalars, max_size=3)
    body = st.dictionaries(_names, children, max_size=3)
    text = st.one_of(st.just({}), _scalars.map(lambda v: {"#text": v}))
    element = st.tuples(attrs, body, text).map(lambda t: {**t[0], **t[1], **t[2]})
    return st.one_of(_scalars, element, st.lists(st.one_of(_scalars, element), max_size=3))


_values = st.recursive(_scalars, _elements, max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(root=_names, value=st.one_of(st.none(), _texts, st.dictionaries(_names, _values, max_size=4)))
def test_generated_documents_are_written_as_xmltodict_writes_them(root, value):
    document = {root: value}
    assert soap_xml.unparse(document) == xmltodict.unparse(document)


@pytest.mark.parametrize("document", [
    {"a": {"#comment": "note", "b": "1"}},  # comments
    {"a": {"@xmlns": {"": "urn:x", "p": "urn:p"}}},  # an xmlns mapping
    {"a": {"b": b"bytes"}},  # bytes
    {"a": {"b c": "1"}},  # a name xmltodict refuses
], ids=["comment", "xmlns-mapping", "bytes", "bad-name"])
def test_other_shapes_are_left_to_xmltodict(document):
    try:
        expected: Any = xmltodict.unparse(document)
    except ValueError as exc:
        expected = type(exc)
    try:
        written: Any = soap_xml.unparse(document)
    except ValueError as exc:
        written = type(exc)
    assert written == expected


def test_install_makes_pywinrm_use_it():
    import winrm.protocol

    soap_xml.install()
    assert winrm.protocol.xmltodict.unparse is soap_xml.unparse
    assert winrm.protocol.xmltodict.parse is xmltodict.parse
