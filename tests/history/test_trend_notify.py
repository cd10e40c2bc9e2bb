"""Trend data and SVG; notifications (SMTP and webhook against local servers)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from auditor.errors import InputError
from auditor.findings import Severity
from auditor.history import connect, drift_for_report, render_trend_svg, trend
from auditor.notify import (
    MailSettings,
    NotifyConfig,
    WebhookSettings,
    load_notify_config,
    notify,
    notify_config_from_dict,
    post_webhook,
)

SVG = "{http://www.w3.org/2000/svg}"


def test_trend_counts_oldest_first(three_runs):
    path, _ = three_runs
    db = connect(path, create=False)
    try:
        points = trend(db)
        assert [p["run_id"] for p in points] == [1, 2, 3]
        assert points[0]["failing"] == {"critical": 0, "high": 1, "medium": 1, "low": 0, "info": 0}
        assert points[2]["failing"]["high"] == 2
        assert points[2]["failing_total"] == 2
        assert [p["run_id"] for p in trend(db, limit=2)] == [2, 3]
        assert trend(db, cluster="OTHER") == []
    finally:
        db.close()


def test_trend_svg_is_well_formed_and_escapes_text(three_runs):
    path, _ = three_runs
    db = connect(path, create=False)
    try:
        points = trend(db)
    finally:
        db.close()
    points.append({"run_id": '4"><script>alert(1)</script>', "finished_at": "2026-11-04<b>&x",
                   "failing": {"critical": 3, "low": 1}})
    svg = render_trend_svg(points, title="Failing <by> severity & run")
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    assert "<script>" not in svg
    assert "<b>" not in svg
    assert root.find(f"{SVG}title").text == "Failing <by> severity & run"
    groups = root.findall(f"{SVG}g")
    assert len(groups) == 4
    assert groups[-1].get("data-run") == '4"><script>alert(1)</script>'
    tips = [g.find(f"{SVG}title").text for g in groups]
    assert tips[0].startswith("run 1 (2026-11-01T01:02:00Z): 2 failing")
    assert "critical 3" in tips[-1]
    # one rect per non-zero severity per run, stacked
    assert len(groups[-1].findall(f"{SVG}rect")) == 2
    assert not any(el.tag.endswith(("script", "image", "use")) for el in root.iter())
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # no external assets

    empty = ET.fromstring(render_trend_svg([]))
    assert "no history yet" in "".join(empty.itertext())


# ---------------------------------------------------------------------------------------
SUMMARY = {"cluster": "PROD", "run_id": 3, "finished_at": "2026-11-03T01:02:00Z", "exit_code": 1,
           "failing": {"critical": 0, "high": 2}, "report": r"\\fs01\reports\index.html"}


def new_failures(three_runs_path) -> list[dict]:
    db = connect(three_runs_path, create=False)
    try:
        return drift_for_report(db, 2)["new"], drift_for_report(db, 3)["new"]
    finally:
        db.close()


def test_mail_only_when_something_new_fails(three_runs, smtp_server, monkeypatch):
    path, _ = three_runs
    host, port, cap = smtp_server
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "Pa55-w0rd")
    cfg = NotifyConfig(mail=MailSettings(host=host, port=port, from_addr="auditor@corp.example",
                                         to=["print-admins@corp.example", "oncall@corp.example"],
                                         username="svc-auditor", password_env="TEST_SMTP_PASSWORD", timeout=5))
    new2, new3 = new_failures(path)

    res = notify(SUMMARY, new3, cfg)  # run 3: nothing new
    assert (res.triggered, res.mail_sent, res.errors) == (False, False, [])
    assert cap.messages == []

    res = notify(SUMMARY, new2, cfg)  # run 2: SERVICE-RUNNING on MGMT1 is new
    assert res.triggered
    assert res.mail_sent
    assert res.errors == []
    assert len(cap.messages) == 1
    msg = cap.messages[0]
    assert msg["from"] == "auditor@corp.example"
    assert msg["to"] == ["print-admins@corp.example", "oncall@corp.example"]
    assert "Subject: [paragon-auditor] PROD: 1 new failing finding(s)" in msg["data"]
    assert "SERVICE-RUNNING MGMT1 (MGMT1:YSoftSQ-LDAP)" in msg["data"]
    assert cap.auth == [("svc-auditor", "Pa55-w0rd")]
    assert "Pa55-w0rd" not in msg["data"]

    always = NotifyConfig(mail=cfg.mail, always=True)
    res = notify(SUMMARY, new3, always)
    assert res.mail_sent
    assert "no new failures" in cap.messages[-1]["data"]


def test_min_severity_and_missing_password(smtp_server, monkeypatch):
    host, port, cap = smtp_server
    low_only = [{"check_id": "WAIVER-UNUSED", "severity": "info", "subject": "x", "status": "fail"}]
    cfg = NotifyConfig(mail=MailSettings(host=host, port=port, from_addr="a@x", to=["b@x"]),
                       min_severity=Severity.LOW)
    assert notify(SUMMARY, low_only, cfg).triggered is False

    monkeypatch.delenv("NOPE_PASSWORD", raising=False)
    cfg.mail.username, cfg.mail.password_env = "u", "NOPE_PASSWORD"
    res = notify(SUMMARY, [{"check_id": "A", "severity": "high", "subject": "s"}], cfg)
    assert res.triggered
    assert not res.mail_sent
    assert res.errors == ["mail not sent: mail password: environment variable NOPE_PASSWORD is not set"]
    assert cap.messages == []


def test_webhook_posts_json_and_retries_server_errors(three_runs, webhook_server, monkeypatch):
    path, _ = three_runs
    url, cap = webhook_server
    monkeypatch.setenv("TEST_HOOK_URL", url)
    monkeypatch.setenv("TEST_HOOK_TOKEN", "tok-123")
    new2, new3 = new_failures(path)
    cfg = NotifyConfig(webhook=WebhookSettings(url_env="TEST_HOOK_URL", token_env="TEST_HOOK_TOKEN",
                                               timeout=5, retries=2, backoff=0))
    assert notify(SUMMARY, new3, cfg).triggered is False
    assert cap.requests == []

    cap.statuses[:] = [503]  # first attempt fails, the retry succeeds
    res = notify(SUMMARY, new2, cfg)
    assert res.webhook_sent
    assert res.errors == []
    assert len(cap.requests) == 2
    body = cap.requests[-1]["json"]
    assert body["event"] == "paragon-auditor.run"
    assert body["summary"]["run_id"] == 3
    assert [f["check_id"] for f in body["new_failures"]] == ["SERVICE-RUNNING"]
    assert "1 new failing" in body["text"]
    assert cap.requests[-1]["headers"]["Authorization"] == "Bearer tok-123"


def test_webhook_retries_are_bounded_and_4xx_not_retried(webhook_server):
    url, cap = webhook_server
    sleeps: list[float] = []
    cap.statuses[:] = [500, 500, 500, 500]
    with pytest.raises(Exception, match="500"):
        post_webhook({"x": 1}, WebhookSettings(url=url, retries=2, backoff=1.5, timeout=5), sleep=sleeps.append)
    assert len(cap.requests) == 3
    assert sleeps == [1.5, 3.0]

    cap.requests.clear()
    cap.statuses[:] = [400]
    res = notify(SUMMARY, [{"check_id": "A", "severity": "high"}],
                 NotifyConfig(webhook=WebhookSettings(url=url, retries=3, backoff=0, timeout=5)))
    assert not res.webhook_sent
    assert len(cap.requests) == 1
    assert res.errors == ["webhook not sent: HTTP 400 Bad Request"]
    assert "secret-path" not in res.errors[0]  # the URL (which may embed a token) is never echoed


def test_unreachable_targets_are_reported_not_raised():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    cfg = NotifyConfig(mail=MailSettings(host="127.0.0.1", port=port, from_addr="a@x", to=["b@x"], timeout=2),
                       webhook=WebhookSettings(url=f"http://127.0.0.1:{port}/h", retries=1, backoff=0, timeout=2),
                       always=True)
    res = notify(SUMMARY, [], cfg)
    assert res.triggered
    assert not res.mail_sent
    assert not res.webhook_sent
    assert len(res.errors) == 2


def test_notify_config_file(tmp_path):
    p = tmp_path / "notify.yaml"
    p.write_text(
        "always: false\nmin_severity: medium\n"
        "mail:\n  host: smtp.corp.example\n  port: 587\n  starttls: true\n  from: auditor@corp.example\n"
        "  to: a@corp.example, b@corp.example\n  username: svc\n  password_env: SMTP_PW\n"
        "webhook:\n  url_env: HOOK_URL\n  retries: 9\n"
    )
    cfg = load_notify_config(p)
    assert cfg.min_severity == Severity.MEDIUM
    assert cfg.mail.starttls
    assert cfg.mail.port == 587
    assert cfg.mail.to == ["a@corp.example", "b@corp.example"]
    assert cfg.webhook.url_env == "HOOK_URL"
    for bad, msg in [({"mail": {"host": "h", "from": "f", "to": "t", "password": "x"}}, "environment variables"),
                     ({"mail": {"host": "h"}}, "host, from and to are required"),
                     ({"webhook": {"timeout": 3}}, "url or url_env"),
                     ({"min_severity": "urgent"}, "unknown severity"),
                     ({"email": {}}, "unknown key(s) email")]:
        with pytest.raises(InputError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            notify_config_from_dict(bad, "n.yaml")
    p.write_text("mail:\n  host: [unclosed\n")
    with pytest.raises(InputError) as info:
        load_notify_config(p)
    assert info.value.line is not None
    # a key written twice would silently send mail to the second address only
    p.write_text("mail:\n  host: smtp.corp\n  from: a@corp\n  to: ops@corp\n  to: me@corp\n")
    with pytest.raises(InputError, match="duplicate key 'to'") as info:
        load_notify_config(p)
    assert info.value.line == 5


def test_webhook_payload_is_plain_json(webhook_server):
    url, cap = webhook_server
    post_webhook({"a": [1, 2], "b": "ü"}, WebhookSettings(url=url, retries=0, timeout=5))
    assert json.dumps(cap.requests[0]["json"], ensure_ascii=False) == '{"a": [1, 2], "b": "ü"}'


def test_mail_with_starttls_verifies_the_certificate(smtp_tls_server, monkeypatch):
    host, port, cap, cert = smtp_tls_server
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "tls-pw")
    mail = MailSettings(host=host, port=port, from_addr="a@x", to=["b@x"], starttls=True, ca_file=str(cert),
                        username="u", password_env="TEST_SMTP_PASSWORD", timeout=5)
    res = notify(SUMMARY, [{"check_id": "A", "severity": "high", "subject": "s"}], NotifyConfig(mail=mail))
    assert res.mail_sent, res.errors
    assert cap.tls
    assert cap.auth == [("u", "tls-pw")]
    assert len(cap.messages) == 1
    assert cap.commands.index("STARTTLS") < cap.commands.index("AUTH")  # credentials only after TLS

    # without the CA the self-signed certificate is refused, and nothing is sent
    mail.ca_file = None
    res = notify(SUMMARY, [{"check_id": "A", "severity": "high", "subject": "s"}], NotifyConfig(mail=mail))
    assert not res.mail_sent
    assert "CERTIFICATE_VERIFY_FAILED" in res.errors[0]
    assert len(cap.messages) == 1
