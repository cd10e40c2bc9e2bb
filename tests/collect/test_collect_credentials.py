"""Credential references (env, keyring, prompt) and the masked Secret."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import click
import keyring
import pytest
from click.testing import CliRunner
from keyring.backend import KeyringBackend

from auditor.collect.credentials import Credentials, Secret, resolve_credentials
from auditor.collect.inventory import load_inventory
from auditor.errors import InputError

PW = "Kx7-distinctive-Pw!"


class MemoryKeyring(KeyringBackend):
    """In-memory keyring backend for tests (priority irrelevant: set explicitly)."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def inv(tmp_path: Path, defaults: str, nodes: str = "  - {name: n1, roles: [site]}\n") -> Path:
    p = tmp_path / "inv.yaml"
    p.write_text(f"version: 1\ndefaults: {defaults}\nnodes:\n{nodes}")
    return p


def test_secret_is_masked_everywhere(caplog):
    s = Secret(PW)
    creds = Credentials("CORP\\auditor", s)
    texts = [str(s), repr(s), f"{s}", f"{s!r}", "{}".format(s), "%s" % (s,),  # noqa: UP031, UP032
             repr(creds), str(creds), repr([creds]),
             repr({"x": s})]
    logging.getLogger("t").warning("creds %s %r", creds, s)
    texts.append(caplog.text)
    for t in texts:
        assert PW not in t
    assert "********" in repr(s)
    assert s.reveal() == PW
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        json.dumps({"p": s})
    with pytest.raises(AttributeError):
        s._value = "x"  # type: ignore[misc]


def test_env_reference(tmp_path, monkeypatch):
    monkeypatch.setenv("PARAGON_TEST_PW", PW)
    creds = resolve_credentials(load_inventory(inv(tmp_path, "{username: u, credential: {env: PARAGON_TEST_PW}}")))
    assert creds["n1"].username == "u"
    assert creds["n1"].password.reveal() == PW


def test_env_reference_missing_is_clear(tmp_path, monkeypatch):
    monkeypatch.delenv("PARAGON_TEST_PW", raising=False)
    with pytest.raises(InputError, match="environment variable PARAGON_TEST_PW is not set.*node n1"):
        resolve_credentials(load_inventory(inv(tmp_path, "{username: u, credential: {env: PARAGON_TEST_PW}}")))


def test_keyring_reference(tmp_path, memory_keyring):
    memory_keyring.set_password("paragon-auditor", "CORP\\auditor", PW)
    p = inv(tmp_path, "{username: 'CORP\\auditor', credential: {keyring: {service: paragon-auditor}}}")
    creds = resolve_credentials(load_inventory(p))
    assert creds["n1"].password.reveal() == PW


def test_keyring_entry_missing(tmp_path, memory_keyring):
    p = inv(tmp_path, "{username: u, credential: {keyring: {service: s, username: other}}}")
    with pytest.raises(InputError, match="no password in the keyring for service='s' username='other'"):
        resolve_credentials(load_inventory(p))


def test_prompt_asked_once_per_distinct_reference(tmp_path):
    p = inv(tmp_path, "{username: a, credential: {prompt: true}}",
            "  - {name: n1, roles: [site]}\n  - {name: n2, roles: [site]}\n"
            "  - {name: n3, roles: [site], username: b}\n")
    inventory = load_inventory(p)
    seen = {}

    @click.command()
    def cmd():
        creds = resolve_credentials(inventory)
        seen.update({k: v.password.reveal() for k, v in creds.items()})
        click.echo(repr(creds))

    res = CliRunner().invoke(cmd, input=f"{PW}\nother-pw\n")
    assert res.exit_code == 0, res.output
    assert res.output.count("Password for a") == 1
    assert res.output.count("Password for b") == 1
    assert seen == {"n1": PW, "n2": PW, "n3": "other-pw"}
    assert PW not in res.output
    assert "other-pw" not in res.output  # hidden input, masked repr
