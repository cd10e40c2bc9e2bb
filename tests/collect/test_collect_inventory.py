"""Inventory validation: every error names the file and line, no traceback, no secret echoed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.collect.credentials import EnvRef, KeyringRef, PromptRef
from auditor.collect.inventory import load_inventory
from auditor.collect.runner import SecurityOptions, check_security
from auditor.errors import InputError

GOOD = """\
version: 1
cluster: prod
defaults:
  username: CORP\\auditor
  credential: {env: PARAGON_PW}
  ca_file: ca.pem
  concurrency: 8
nodes:
  - name: MGMT1
    address: 10.0.10.11
    roles: [management]
  - name: MGMT2
    address: mgmt2.corp.example
    roles: [management]
    scheme: http
    deadline: 30
    max_output_mb: 0.5
  - name: SITE1
    roles: [site]
    credential: {keyring: {service: paragon, username: CORP\\other}}
    port: 15986
"""


def write(tmp_path: Path, text: str, name: str = "inv.yaml") -> Path:
    (tmp_path / "ca.pem").write_text("dummy CA\n")
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def error_of(path: Path) -> InputError:
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    return exc.value


def test_good_inventory_defaults_and_overrides(tmp_path):
    inv = load_inventory(write(tmp_path, GOOD))
    assert inv.cluster == "prod"
    assert inv.concurrency == 8
    m1, m2, s1 = inv.nodes
    assert (m1.transport, m1.scheme, m1.port) == ("ntlm", "https", 5986)
    assert m1.ca_file == (tmp_path / "ca.pem").resolve()  # relative to the inventory file
    assert m1.credential == EnvRef("PARAGON_PW")
    assert m1.line == 9
    assert (m2.scheme, m2.port, m2.deadline) == ("http", 5985, 30.0)
    assert (m1.max_output_mb, m2.max_output_mb) == (64.0, 0.5)
    assert s1.address == "SITE1"
    assert s1.port == 15986
    assert s1.credential == KeyringRef("paragon", "CORP\\other")
    assert s1.roles == ("site",)


@pytest.mark.parametrize("snippet, line, words", [
    ("  - name: X\n    address: a\n    roles: [site]\n    concurrancy: 3\n", 12, ["unknown key 'concurrancy'", "valid keys"]),
    ("  - name: MGMT1\n    roles: [site]\n", 9, ["duplicate node name", "line 7"]),
    ("  - name: X\n    roles: [printer]\n", 10, ["unknown role", "management, site"]),
    ("  - name: X\n    roles: [site]\n    transport: smb\n", 11, ["transport", "ntlm, kerberos"]),
    ("  - name: X\n    roles: [site]\n    port: 99999\n", 11, ["port"]),
    ("  - name: X\n    roles: [site]\n    max_output_mb: -1\n", 11, ["max_output_mb"]),
    ("  - name: X\n    roles: [site]\n    credential: {vault: x}\n", 11, ["unknown reference kind 'vault'"]),
    ("  - name: X\n    roles: [site]\n    concurrency: 3\n", 11, ["under defaults"]),
    ("  - name: X\n    roles: [site]\n    max_concurrency: 300\n", 11, ["max_concurrency", "under defaults"]),
    ("  - name: X\n", 9, ["roles"]),
    ("  - name: X\n    roles: [site]\n    ca_file: nope.pem\n", 11, ["does not exist"]),
])
def test_node_errors_name_file_and_line(tmp_path, snippet, line, words):
    base = "version: 1\ncluster: c\ndefaults:\n  username: u\n  credential: {env: PW}\nnodes:\n" \
           "  - name: MGMT1\n    roles: [management]\n"
    p = write(tmp_path, base + snippet)
    err = error_of(p)
    assert str(err).startswith(f"{p}:{line}: "), str(err)
    for w in words:
        assert w in str(err)


@pytest.mark.parametrize("text, line, words", [
    ("version: 2\nnodes: []\n", 1, ["version: expected 1"]),
    ("version: 1\nnodes: []\n", 2, ["non-empty list"]),
    ("version: 1\nclustr: x\n", 2, ["unknown key 'clustr'", "version, cluster, defaults, nodes"]),
    ("version: 1\ndefaults:\n  timeout: 3\n", 3, ["unknown key 'timeout'", "deadline"]),
    ("version: 1\ndefaults: {verify: maybe}\nnodes: [{name: a, roles: [site]}]\n", 2, ["verify"]),
    ("version: 1\nversion: 1\n", 2, ["duplicate key 'version'"]),
    ("version: 1\nnodes:\n  - name: a\n   roles: [x]\n", 4, ["invalid YAML"]),
    ("", 1, ["empty"]),
    ("version: 1\nnodes: [{name: a, roles: [site]}]\n", 2, ["username is required"]),
    ("version: 1\ndefaults: {username: u}\nnodes: [{name: a, roles: [site]}]\n", 3, ["credential is required"]),
])
def test_top_level_errors(tmp_path, text, line, words):
    p = write(tmp_path, text)
    err = error_of(p)
    assert str(err).startswith(f"{p}:{line}: "), str(err)
    for w in words:
        assert w in str(err)


@pytest.mark.parametrize("where", [
    "defaults:\n  username: u\n  password: S3cr3t-Literal\n",
    "defaults:\n  username: u\n  credential: {password: S3cr3t-Literal}\n",
    "defaults:\n  username: u\n  credential: S3cr3t-Literal\n",
])
def test_literal_password_rejected_without_echo(tmp_path, where):
    p = write(tmp_path, "version: 1\n" + where + "nodes: [{name: a, roles: [site]}]\n")
    err = error_of(p)
    assert "S3cr3t-Literal" not in str(err)
    assert f"{p}:" in str(err)
    assert "{env: VAR}" in str(err)
    assert "prompt" in str(err)


def test_password_on_a_node_names_its_line(tmp_path):
    p = write(tmp_path, GOOD + "  - name: X\n    roles: [site]\n    password: hunter22\n")
    err = error_of(p)
    assert str(err).startswith(f"{p}:24: nodes[3].password")
    assert "hunter22" not in str(err)


def test_prompt_reference_is_per_username(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {credential: {prompt: true}, username: a}\n"
                        "nodes:\n  - {name: n1, roles: [site]}\n  - {name: n2, roles: [site], username: b}\n")
    inv = load_inventory(p)
    assert [n.credential for n in inv.nodes] == [PromptRef("a"), PromptRef("b")]


def test_kerberos_needs_no_credential(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {transport: kerberos}\nnodes: [{name: n1, roles: [site]}]\n")
    assert load_inventory(p).nodes[0].credential is None


def test_kerberos_hostname_override_names_the_spn_host(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {transport: kerberos}\n"
                        "nodes: [{name: n1, address: 10.0.0.5, roles: [site], kerberos_hostname_override: n1.corp.example}]\n")
    assert load_inventory(p).nodes[0].kerberos_hostname_override == "n1.corp.example"


def test_kerberos_hostname_override_is_not_an_ip_address(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {transport: kerberos}\n"
                        "nodes: [{name: n1, roles: [site], kerberos_hostname_override: 10.0.0.5}]\n")
    err = error_of(p)
    assert err.line == 3
    assert "kerberos_hostname_override: expected the host name" in str(err)


def test_kerberos_username_in_ntlm_form_is_refused(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults:\n  transport: kerberos\n  username: CORP\\auditor\n"
                        "nodes: [{name: n1, roles: [site]}]\n")
    err = error_of(p)
    assert "NTLM's DOMAIN\\user form" in str(err)
    assert err.line == 4


def test_kerberos_username_as_principal_is_kept(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {transport: kerberos, username: auditor@CORP.EXAMPLE}\n"
                        "nodes: [{name: n1, roles: [site]}]\n")
    assert load_inventory(p).nodes[0].username == "auditor@CORP.EXAMPLE"


def test_credential_for_a_kerberos_node_is_an_error(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {transport: kerberos}\n"
                        "nodes:\n  - name: n1\n    roles: [site]\n    credential: {env: PW}\n")
    err = error_of(p)
    assert "credential is not used with transport kerberos" in str(err)
    assert err.line == 6


def test_credential_inherited_by_a_kerberos_node_is_ignored(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {username: CORP\\a, credential: {env: PW}}\n"
                        "nodes:\n  - {name: n1, roles: [site]}\n  - {name: n2, roles: [site], transport: kerberos,"
                        " username: a@CORP.EXAMPLE}\n")
    inv = load_inventory(p)
    assert [n.credential for n in inv.nodes] == [EnvRef("PW"), None]


def test_ntlm_account_inherited_by_a_kerberos_node_is_ignored(tmp_path):
    """A mixed inventory: NTLM defaults, one Kerberos node. pywinrm would ask for a ticket of the
    inherited CORP\\a; the node uses the ticket of whoever runs the auditor instead."""
    p = write(tmp_path, "version: 1\ndefaults: {username: CORP\\a, credential: {env: PW}}\n"
                        "nodes:\n  - {name: n1, roles: [site]}\n  - {name: n2, roles: [site], transport: kerberos}\n")
    inv = load_inventory(p)
    assert [n.username for n in inv.nodes] == ["CORP\\a", ""]


def test_missing_file_and_folder(tmp_path):
    assert "not found" in str(error_of(tmp_path / "nope.yaml"))
    assert "folder" in str(error_of(tmp_path))


def test_insecure_combinations_need_flags(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {username: u, credential: {env: PW}}\nnodes:\n"
                        "  - {name: n1, roles: [site], transport: basic, scheme: http}\n"
                        "  - {name: n2, roles: [site], verify: false}\n")
    inv = load_inventory(p)
    with pytest.raises(InputError) as exc:
        check_security(inv, SecurityOptions())
    assert str(exc.value).startswith(f"{p}:4: ")
    assert "--allow-basic-http" in str(exc.value)
    with pytest.raises(InputError) as exc:
        check_security(inv, SecurityOptions(allow_basic_http=True))
    assert str(exc.value).startswith(f"{p}:5: ")
    assert "--insecure-skip-verify" in str(exc.value)
    warnings = check_security(inv, SecurityOptions(allow_basic_http=True, insecure_skip_verify=True))
    assert len(warnings) == 2
    assert all(w.startswith("warning:") for w in warnings)


def test_cli_reports_one_line_error_exit_2(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults:\n  password: Zz9-literal\nnodes: [{name: a, roles: [site]}]\n")
    res = CliRunner().invoke(main, ["collect", "--inventory", str(p), "--out", str(tmp_path / "snap")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "Zz9-literal" not in res.output
    assert f"{p}:3:" in res.output
    assert not (tmp_path / "snap").exists()


def test_cli_refuses_basic_http_before_prompting(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {username: u, credential: {prompt: true}, transport: basic,"
                        " scheme: http}\nnodes: [{name: a, roles: [site]}]\n")
    res = CliRunner().invoke(main, ["collect", "-i", str(p), "-o", str(tmp_path / "s")], input="pw\n")
    assert res.exit_code == 2
    assert "--allow-basic-http" in res.output
    assert "Password" not in res.output


def test_example_inventory_is_valid(monkeypatch):
    example = Path(__file__).resolve().parents[2] / "examples" / "inventory.yaml"
    inv = load_inventory(example)
    assert inv.nodes
    assert all(n.credential is not None or n.transport == "kerberos" for n in inv.nodes)


@pytest.mark.parametrize("address", ["mgmt1:5986", "https://mgmt1", "mgmt1/wsman", "a b"])
def test_address_must_be_a_host(tmp_path, address):
    p = write(tmp_path, "version: 1\ndefaults: {username: u, credential: {env: PW}}\nnodes:\n"
                        f"  - name: n1\n    address: '{address}'\n    roles: [site]\n")
    err = error_of(p)
    assert str(err).startswith(f"{p}:5: ")
    assert "port:" in str(err)


def test_ipv6_address_accepted(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {username: u, credential: {env: PW}}\nnodes:\n"
                        "  - {name: n1, address: 'fd00::1', roles: [site]}\n")
    assert load_inventory(p).nodes[0].url == "https://[fd00::1]:5986/wsman"


def test_missing_transport_package_is_one_clear_error(tmp_path):
    from winrm import transport as wt

    from auditor.collect.runner import check_transports

    if wt.HAVE_CREDSSP:
        pytest.skip("requests-credssp is installed here")
    p = write(tmp_path, "version: 1\ndefaults: {username: u, credential: {env: PW}, transport: credssp}\n"
                        "nodes: [{name: a, roles: [site]}]\n")
    with pytest.raises(InputError, match=r"inv.yaml:3: transport credssp needs an extra package"):
        check_transports(load_inventory(p))


def test_yaml_merge_keys_may_be_overridden(tmp_path):
    p = write(tmp_path, "version: 1\ndefaults: {username: u, credential: {env: PW}}\nnodes:\n"
                        "  - &site {name: s1, roles: [site], port: 15986}\n  - <<: *site\n    name: s2\n")
    assert [(n.name, n.port) for n in load_inventory(p).nodes] == [("s1", 15986), ("s2", 15986)]


def test_concurrency_adaptive_unless_set_and_admin_cap(tmp_path):
    base = "version: 1\ncluster: c\ndefaults:\n  username: u\n  credential: {env: PW}\n{extra}nodes:\n" \
           "  - name: MGMT1\n    roles: [management]\n"
    default = load_inventory(write(tmp_path, base.replace("{extra}", "")))
    capped = load_inventory(write(tmp_path, base.replace("{extra}", "  max_concurrency: 64\n")))
    assert default.concurrency is None
    assert default.max_concurrency is None
    assert capped.max_concurrency == 64
    assert capped.with_overrides(concurrency=5).concurrency == 5
    assert capped.with_overrides(concurrency=5).max_concurrency == 64


def test_the_shipped_example_inventory_loads():
    """examples/inventory.yaml is what admins copy: it must stay valid (its ca_file is commented out)."""
    inv = load_inventory(Path(__file__).resolve().parents[2] / "examples" / "inventory.yaml")
    kerberos = inv.node("SITE-OSTRAVA")
    assert kerberos.transport == "kerberos"
    assert kerberos.username == ""  # the NTLM account of the defaults is not this node's
    assert kerberos.credential is None
    assert kerberos.kerberos_hostname_override == "site-ova.corp.example"
