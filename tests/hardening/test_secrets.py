"""No secret in any output: a full flow over the lab with distinctive passwords, then every
byte the tool produced is searched for them.

Flow (all real processes): ``auditor lab serve`` (drift scenario, HTTPS + NTLM) -> ``collect``
-> ``audit --inventory`` (all formats, history on) -> ``audit --from`` the snapshot ->
``history`` -> ``drift`` -> ``fix`` dry run (with the IMS-SERVICE-ACCOUNT fixer's service
password given by environment reference, plan JSON) -> ``fix --apply --yes`` (journal) ->
``audit`` again -> ``discover`` from MGMT1; then ``audit`` and ``collect`` with a *wrong*
password in the variable (the authentication-failure path must not echo it either).

Secrets: the WinRM password, the service-account password, and a database password planted
in a Management ``management.properties`` (the auditor reads that file, compares it across
nodes, records configuration values in the history, so it is the secret most likely to
leak into a report). Searched forms: UTF-8, UTF-16LE, base64 of both (all three
alignments), URL/percent encoding, JSON/Python escaping. Searched places: stdout and
stderr of every command, and every file under the test's folder (snapshot, reports, history
SQLite including WAL/journal files, fix journal, plan JSON, inventory, lab workdir, HOME).

Where the DB password may legitimately be: the collected copy of management.properties in
the snapshot and in the lab's served scenario (that file *is* the evidence). Nowhere else.
"""

from __future__ import annotations

import base64
import json
import shutil
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from tests.hardening.hx_support import AUDITOR, SCENARIOS, cli_env, run_cli

pytestmark = pytest.mark.timeout(240)

LAB_PW = "Lq7#Wz-LabSecret-50913!"
WRONG_PW = "Wr0ng~Guess-Secret-71150"  # typed by mistake: must not be echoed in the auth error either
SVC_PW = "Sv4&Kp-ServiceSecret-28871?"
DB_PW = "Db9%Rt-DatabaseSecret-66402"
SVC_ENV = "HX_SERVICE_ACCOUNT_PW"


def binary_forms(raw: bytes) -> set[bytes]:
    """Byte patterns that would reveal the bytes ``raw``: themselves, hex, and base64 inside a
    longer base64 text at any of its three alignments."""
    forms = {raw, raw.hex().encode(), raw.hex().upper().encode()}
    for pad in range(3):  # base64 of the secret inside a longer text: three alignments
        enc = base64.b64encode(b"\x00" * pad + raw)
        start = (pad * 4 + 2) // 3 + 1  # skip characters that mix in preceding bytes
        stable = enc[start:len(enc) - 4]  # and the last quantum (mixes with following bytes)
        if len(stable) >= 12:
            forms.add(stable)
    forms.add(base64.urlsafe_b64encode(raw)[2:-4])
    return forms


def secret_forms(secret: str) -> list[bytes]:
    """Byte patterns that would reveal ``secret`` in a file or a stream."""
    forms: set[bytes] = set()
    for raw in (secret.encode("utf-8"), secret.encode("utf-16-le")):
        forms |= binary_forms(raw)
    forms.add(urllib.parse.quote(secret, safe="").encode())
    forms.add(urllib.parse.quote_plus(secret).encode())
    forms.add(json.dumps(secret)[1:-1].encode())
    forms.add(repr(secret)[1:-1].encode())
    return sorted(forms)


def leaks(data: bytes, secret: str) -> list[bytes]:
    return [f for f in secret_forms(secret) if f in data]


def _plant_db_password(scenario: Path) -> None:
    for node, pw in (("mgmt1", DB_PW), ("mgmt2", DB_PW + "-other")):
        props = scenario / node / "files" / "c" / "DispatcherParagon" / "Management" / "conf" / "management.properties"
        props.write_bytes(props.read_bytes() + f"dbPassword={pw}\r\n".encode())


@pytest.fixture
def served_lab(tmp_path):
    """``auditor lab serve`` (drift, HTTPS, NTLM) in its own process (stopped with SIGTERM at teardown)."""
    yield from _serve(tmp_path, "--scheme", "https")


def _serve(tmp_path: Path, *options: str):
    scenario = tmp_path / "scenario"
    shutil.copytree(SCENARIOS / "drift", scenario)
    _plant_db_password(scenario)
    workdir = tmp_path / "labwork"
    inventory = tmp_path / "inv" / "inventory.yaml"
    out = (tmp_path / "lab-serve.out").open("wb")
    err = (tmp_path / "lab-serve.err").open("wb")
    env = cli_env(tmp_path, PARAGON_LAB_PASSWORD=LAB_PW)
    proc = subprocess.Popen(AUDITOR + ["lab", "serve", str(scenario), *options, "--workdir", str(workdir),
                                       "--inventory-out", str(inventory), "--username", "hx-secret"],
                            stdout=out, stderr=err, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (inventory.is_file() and b"auditor audit" in (tmp_path / "lab-serve.out").read_bytes()):
            assert proc.poll() is None, (tmp_path / "lab-serve.err").read_text()
            assert time.monotonic() < deadline, "lab did not come up"
            time.sleep(0.2)
        yield inventory, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        out.close()
        err.close()


def test_no_secret_in_any_output(served_lab, tmp_path):
    inventory, lab_proc = served_lab
    mgmt1_port = next(n["port"] for n in yaml.safe_load(inventory.read_text(encoding="utf-8"))["nodes"]
                      if n["name"] == "MGMT1")
    env = cli_env(tmp_path, PARAGON_LAB_PASSWORD=LAB_PW, **{SVC_ENV: SVC_PW},
                  PARAGON_AUDITOR_STATE_DIR=str(tmp_path / "state"))
    history = tmp_path / "history.sqlite"
    inv = str(inventory)
    fix_common = ["--inventory", inv, "--service-account", "CORP\\svc-paragon-ims", "--service-password-env",
                  SVC_ENV, "--journal", str(tmp_path / "journal.jsonl"), "--no-progress"]
    steps = [
        (["collect", "--inventory", inv, "--out", str(tmp_path / "snapshot"), "--no-progress"], {0}),
        (["audit", "--inventory", inv, "--out", str(tmp_path / "reports"), "--format", "html,json,junit,csv",
          "--history", str(history), "--no-progress"], {1}),
        (["audit", "--from", str(tmp_path / "snapshot"), "--out", str(tmp_path / "reports-offline"),
          "--format", "html,json,junit,csv", "--history", str(history)], {1}),
        (["history", "--history", str(history)], {0}),
        (["history", "--history", str(history), "--json"], {0}),
        (["drift", "--history", str(history)], {0}),
        (["drift", "--history", str(history), "--json"], {0}),
        (["fix", *fix_common, "--plan-json", str(tmp_path / "plan.json")], {1}),
        (["fix", *fix_common, "--apply", "--yes", "--plan-json", str(tmp_path / "plan-applied.json")], {0, 7}),  # 7: applied, "blocked" needs input
        (["audit", "--inventory", inv, "--out", str(tmp_path / "reports-after"), "--format", "html,json,junit,csv",
          "--history", str(history), "--no-progress"], {0, 1}),
        (["drift", "--history", str(history)], {0}),
        (["discover", "--seed", "127.0.0.1", "--port", str(mgmt1_port), "--username", "hx-secret",
          "--credential-env", "PARAGON_LAB_PASSWORD", "--ca-file", str(inventory.parent / "lab-ca.pem"),
          "--out", str(tmp_path / "discovered.yaml"), "--cluster", "found"], {0}),
    ]
    wrong = dict(env, PARAGON_LAB_PASSWORD=WRONG_PW)
    wrong_steps = [  # the authentication failure path, with a wrong password in the variable
        (["audit", "--inventory", inv, "--out", str(tmp_path / "reports-wrong"), "--format", "html,json,junit,csv",
          "--no-history", "--no-progress"], {3}),
        (["collect", "--inventory", inv, "--out", str(tmp_path / "snapshot-wrong"), "--no-progress"], {3}),
    ]
    streams = []
    for args, codes, run_env in [(a, c, env) for a, c in steps] + [(a, c, wrong) for a, c in wrong_steps]:
        run = run_cli(args, run_env, timeout=120)
        streams.append((args[0], run.stdout + run.stderr))
        if run.returncode not in codes:
            print(run.stdout, run.stderr)
        assert run.returncode in codes, (args, run.returncode)
        assert "Traceback" not in run.stderr, run.stderr
    # the apply really changed something (so the service password really travelled)
    journal = (tmp_path / "journal.jsonl").read_text(encoding="utf-8")
    assert '"set_service_account"' in journal, journal[-2000:]
    assert '"result": "ok"' in journal, journal[-2000:]

    lab_proc.send_signal(signal.SIGTERM)
    lab_proc.wait(timeout=20)
    streams.append(("lab serve", (tmp_path / "lab-serve.out").read_text() + (tmp_path / "lab-serve.err").read_text()))

    for name, text in streams:
        for secret in (LAB_PW, SVC_PW, DB_PW, WRONG_PW):
            assert not leaks(text.encode("utf-8"), secret), (name, secret)

    # every file written anywhere under the test folder
    evidence = {  # the collected file itself: the DB password is the evidence, expected there
        p for p in tmp_path.rglob("management.properties") if "snapshot" in p.parts or "labwork" in p.parts
        or "scenario" in p.parts}
    # the DB password really was collected, and the check really compared it (so its absence
    # from every report below means something)
    assert any(leaks(p.read_bytes(), DB_PW) for p in evidence if "snapshot" in p.parts)
    assert "dbPassword" in (tmp_path / "reports" / "report.json").read_text(encoding="utf-8")
    scanned = 0
    for path in sorted(tmp_path.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        scanned += 1
        for secret in (LAB_PW, SVC_PW, DB_PW, WRONG_PW):
            if secret == DB_PW and path in evidence:
                continue
            found = leaks(data, secret)
            assert not found, f"{path.relative_to(tmp_path)} contains {secret!r} as {found[:2]}"
    kinds = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    for expected in ("report.html", "report.json", "junit.xml", "findings.csv", "history.sqlite", "journal.jsonl",
                     "plan.json", "manifest.json", "node.json", "inventory.yaml", "discovered.yaml"):
        assert expected in kinds, expected  # the search covered every kind of output
    assert scanned > 50


def test_secret_forms_detect_embedded_base64():
    """The detector itself: base64 of a secret inside a longer text is found at any alignment."""
    for prefix in (b"", b"x", b"xy", b"header: "):
        blob = base64.b64encode(prefix + LAB_PW.encode() + b" trailing")
        assert leaks(blob, LAB_PW), prefix
        blob16 = base64.b64encode(prefix + LAB_PW.encode("utf-16-le") + b"..")
        assert leaks(blob16, LAB_PW), prefix
    assert not leaks(b"nothing to see " * 100, LAB_PW)


@pytest.fixture
def kerberos_lab(tmp_path, kerberos_realm):
    """``auditor lab serve --auth kerberos`` (drift, HTTP with Kerberos sealing) with its own realm
    in its work folder. (``kerberos_realm`` only gates: it skips, or fails in CI, without MIT
    Kerberos.)"""
    yield from _serve(tmp_path, "--scheme", "http", "--auth", "kerberos")


def test_no_kerberos_ticket_or_key_in_any_output(kerberos_lab, tmp_path):
    """A Kerberos flow (collect, audit, fix --apply, discover, failures with no ticket and an
    expired one): no session key, ticket or long-term key in any stream or file, in any form."""
    from tests.hardening.krb_material import ccache_secrets, keytab_keys

    inventory, lab_proc = kerberos_lab
    realm = tmp_path / "labwork" / "kdc"  # the lab's realm: database, keytabs, the ticket cache
    krb_env = {"KRB5_CONFIG": str(realm / "krb5.conf"), "KRB5CCNAME": f"FILE:{realm / 'ccache'}"}
    env = cli_env(tmp_path, **krb_env, **{SVC_ENV: SVC_PW}, PARAGON_AUDITOR_STATE_DIR=str(tmp_path / "state"))
    mgmt1_port = next(n["port"] for n in yaml.safe_load(inventory.read_text(encoding="utf-8"))["nodes"]
                      if n["name"] == "MGMT1")
    history = tmp_path / "history.sqlite"
    inv = str(inventory)
    steps = [
        (["collect", "--inventory", inv, "--out", str(tmp_path / "snapshot"), "--no-progress"], {0}),
        (["audit", "--inventory", inv, "--out", str(tmp_path / "reports"), "--format", "html,json,junit,csv",
          "--history", str(history), "--no-progress"], {1}),
        (["fix", "--inventory", inv, "--no-progress", "--service-account", "CORP\\svc-paragon-ims",
          "--service-password-env", SVC_ENV, "--journal", str(tmp_path / "journal.jsonl"), "--apply", "--yes",
          "--plan-json", str(tmp_path / "plan.json")], {0, 7}),  # 7: applied, "blocked" needs input
        (["discover", "--seed", "127.0.0.1", "--port", str(mgmt1_port), "--scheme", "http",
          "--kerberos-hostname-override", "localhost", "--out", str(tmp_path / "discovered.yaml")], {0}),
    ]
    (tmp_path / "empty").mkdir()
    no_ticket = dict(env, KRB5CCNAME=f"FILE:{tmp_path / 'empty' / 'ccache'}")
    failures = [  # the error paths must not print what they did get either
        (["audit", "--inventory", inv, "--out", str(tmp_path / "reports-noticket"), "--no-history",
          "--no-progress"], {3}),
        (["collect", "--inventory", inv, "--out", str(tmp_path / "snapshot-noticket"), "--no-progress"], {3}),
    ]
    streams = []
    for args, codes, run_env in [(a, c, env) for a, c in steps] + [(a, c, no_ticket) for a, c in failures]:
        run = run_cli(args, run_env, timeout=120)
        streams.append((args[0], (run.stdout + run.stderr).encode()))
        assert run.returncode in codes, (args, run.returncode, run.stdout[-2000:], run.stderr[-2000:])
        assert "Traceback" not in run.stderr, run.stderr
    journal = (tmp_path / "journal.jsonl").read_text(encoding="utf-8")
    assert '"write_file"' in journal  # the apply really sent changes over the sealed channel

    lab_proc.send_signal(signal.SIGTERM)
    lab_proc.wait(timeout=20)
    streams.append(("lab serve", (tmp_path / "lab-serve.out").read_bytes() + (tmp_path / "lab-serve.err").read_bytes()))

    cache = ccache_secrets(realm / "ccache")
    assert len(cache["tickets"]) >= 2  # the ticket-granting ticket and the HTTP/localhost ticket the runs used
    material = {"session key": cache["session_keys"], "ticket": cache["tickets"],
                "long-term key": keytab_keys(realm / "user.keytab") + keytab_keys(realm / "http.keytab")}
    patterns = [(kind, form) for kind, values in material.items() for value in values
                for form in binary_forms(value)]
    holders = {p for p in realm.rglob("*") if p.is_file()}  # where keys and tickets legitimately are
    for name, data in streams:
        for kind, form in patterns:
            assert form not in data, (name, kind)
    scanned = 0
    for path in sorted(tmp_path.rglob("*")):
        if not path.is_file() or path.is_symlink() or path in holders:
            continue
        data = path.read_bytes()
        scanned += 1
        for kind, form in patterns:
            assert form not in data, f"{path.relative_to(tmp_path)} contains a {kind}"
    kinds = {p.name for p in tmp_path.rglob("*") if p.is_file() and p not in holders}
    for expected in ("report.html", "report.json", "junit.xml", "findings.csv", "history.sqlite", "journal.jsonl",
                     "plan.json", "manifest.json", "node.json", "inventory.yaml", "discovered.yaml"):
        assert expected in kinds, expected  # the search covered every kind of output
    assert scanned > 50


def test_kerberos_material_is_found_where_it_is():
    """The detector itself: a ticket inside a base64 Negotiate header and a key in hex are found."""
    ticket = bytes(range(256)) * 2
    header = b"Authorization: Negotiate " + base64.b64encode(b"\x60\x82\x02\xd1" + ticket + b"\x00\x01")
    assert any(form in header for form in binary_forms(ticket))
    key = bytes(range(32))
    assert any(form in f"key (0x{key.hex()})".encode() for form in binary_forms(key))
    assert not any(form in b"nothing to see " * 100 for form in binary_forms(key))


def test_fix_plan_diff_masks_every_key_the_history_masks():
    """One rule for which keys hold secrets (auditor/secretkeys.py): the plan diff used to have
    its own shorter list, so a ``bindPwd`` or ``credential`` line shown as diff context went
    out in clear while the history masked it."""
    from auditor.fixers.plan import unified_diff
    from auditor.secretkeys import DEFAULT_SECRET_PATTERNS, mask_config_value

    keys = ["dbPassword", "ldap.bindPwd", "smtp.credential", "apiKey", "client.secret", "authToken"]
    lines = [f"{k}=Hx-{i}-clear\r\n" for i, k in enumerate(keys)]
    old = "".join(lines[:3] + ["serverIP=10.0.0.1\r\n"] + lines[3:])  # every key within the diff's context
    diff = unified_diff(old.encode(), old.replace("10.0.0.1", "10.0.0.2").encode(), "SITE1:x.properties")
    assert "serverIP=10.0.0.2" in diff
    for i, key in enumerate(keys):
        assert f"Hx-{i}-clear" not in diff, key
        assert mask_config_value(key, "v", DEFAULT_SECRET_PATTERNS)[1], key
