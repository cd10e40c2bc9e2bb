"""Notifications after a scheduled run: a summary mail and/or a webhook POST.

Why only on *new* failures: a nightly job that mails the same 40 known findings every
morning gets a mail rule that files it unread within a week. So by default nothing is sent
unless something fails now that did not fail in the previous run (or the pinned baseline);
``always`` (``--notify-always``) sends a summary after every run.

Credentials are never in the config file: ``password_env`` / ``token_env`` / ``url_env``
name environment variables (a Teams/Slack webhook URL is itself a secret). A failure to
notify never fails the audit: :func:`notify` returns the errors for the caller to print as
warnings.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.errors import InputError
from auditor.findings import Finding, Severity
from auditor.yamlfile import load_yaml, read_hand_written

MAX_RETRIES = 5
MAX_LISTED = 50  # findings listed in a mail; the report has the rest


@dataclass
class MailSettings:
    host: str
    from_addr: str
    to: list[str]
    port: int = 25
    starttls: bool = False
    ssl: bool = False  # implicit TLS (port 465); STARTTLS is the usual choice on 587
    username: str | None = None
    password_env: str | None = None  # name of the environment variable holding the password
    ca_file: str | None = None
    timeout: float = 30.0
    subject_prefix: str = "[paragon-auditor]"


@dataclass
class WebhookSettings:
    url: str | None = None
    url_env: str | None = None  # environment variable holding the URL (webhook URLs embed secrets)
    token_env: str | None = None  # sent as "Authorization: Bearer <token>"
    timeout: float = 10.0
    retries: int = 2  # extra attempts after the first, capped at MAX_RETRIES
    backoff: float = 2.0  # seconds, doubled per attempt
    ca_file: str | None = None


@dataclass
class NotifyConfig:
    mail: MailSettings | None = None
    webhook: WebhookSettings | None = None
    always: bool = False
    min_severity: Severity = Severity.LOW  # new failures below this do not trigger a notification

    @property
    def enabled(self) -> bool:
        return self.mail is not None or self.webhook is not None


@dataclass
class NotifyResult:
    triggered: bool
    reason: str
    mail_sent: bool = False
    webhook_sent: bool = False
    errors: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Deciding
# --------------------------------------------------------------------------------------
def _as_dict(f: Finding | Mapping[str, Any]) -> dict[str, Any]:
    return f.to_dict() if isinstance(f, Finding) else dict(f)


def relevant_failures(new_failures: Iterable[Finding | Mapping[str, Any]], min_severity: Severity) -> list[dict[str, Any]]:
    """New failures at or above ``min_severity``, worst first."""
    out = []
    for f in new_failures:
        d = _as_dict(f)
        try:
            sev = Severity(str(d.get("severity", "info")))
        except ValueError:
            sev = Severity.INFO
        if sev.rank >= min_severity.rank:
            out.append(d)
    out.sort(key=lambda d: (-Severity(str(d.get("severity", "info"))).rank, str(d.get("check_id")), str(d.get("subject"))))
    return out


def should_notify(new_failures: Iterable[Finding | Mapping[str, Any]], config: NotifyConfig) -> tuple[bool, str]:
    if not config.enabled:
        return False, "no notification target configured"
    n = len(relevant_failures(new_failures, config.min_severity))
    if n:
        return True, f"{n} new failing finding(s)"
    if config.always:
        return True, "notify-always"
    return False, "nothing new fails since the last run"


# --------------------------------------------------------------------------------------
# Content
# --------------------------------------------------------------------------------------
def _counts_line(summary: Mapping[str, Any]) -> str:
    failing = summary.get("failing") or {}
    parts = [f"{k} {v}" for k, v in failing.items() if v]
    return ", ".join(parts) if parts else "none"


def render_text(summary: Mapping[str, Any], failures: list[dict[str, Any]]) -> str:
    """Plain-text body (mail clients in ops teams often strip HTML)."""
    cluster = summary.get("cluster") or "cluster"
    lines = [
        f"paragon-auditor run {summary.get('run_id', '?')} on {cluster}",
        f"finished: {summary.get('finished_at', '?')}   exit code: {summary.get('exit_code', '?')}",
        f"failing now by severity: {_counts_line(summary)}",
    ]
    if summary.get("nodes_unreachable"):
        lines.append(f"nodes not audited: {summary['nodes_unreachable']}")
    if summary.get("baseline_run") is not None:
        lines.append(f"compared with run {summary['baseline_run']}")
    if summary.get("report"):
        lines.append(f"report: {summary['report']}")
    for warning in summary.get("warnings") or []:
        lines.append(f"warning: {warning}")
    lines.append("")
    if failures:
        lines.append(f"New failing findings ({len(failures)}):")
        for d in failures[:MAX_LISTED]:
            where = d.get("node") or "cluster"
            lines.append(f"  [{str(d.get('severity', '')).upper()}] {d.get('check_id')} {where} "
                         f"({d.get('subject')}): {d.get('message', '')}")
        if len(failures) > MAX_LISTED:
            lines.append(f"  ... and {len(failures) - MAX_LISTED} more (see the report)")
    else:
        lines.append("Nothing new fails since the last run.")
    lines.append("")
    lines.append(f"-- paragon-auditor {__version__}")
    return "\n".join(lines) + "\n"


def build_mail(summary: Mapping[str, Any], failures: list[dict[str, Any]], mail: MailSettings) -> EmailMessage:
    cluster = summary.get("cluster") or "cluster"
    what = f"{len(failures)} new failing finding(s)" if failures else "no new failures"
    msg = EmailMessage()
    msg["Subject"] = f"{mail.subject_prefix} {cluster}: {what}".strip()
    msg["From"] = mail.from_addr
    msg["To"] = ", ".join(mail.to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="paragon-auditor")
    msg.set_content(render_text(summary, failures))
    return msg


def build_payload(summary: Mapping[str, Any], failures: list[dict[str, Any]]) -> dict[str, Any]:
    """JSON body. ``text`` makes Slack and Teams incoming webhooks show something useful."""
    cluster = summary.get("cluster") or "cluster"
    what = f"{len(failures)} new failing finding(s)" if failures else "no new failures"
    keep = ("check_id", "status", "severity", "node", "subject", "message", "expected", "actual")
    return {
        "event": "paragon-auditor.run",
        "version": 1,
        "text": f"paragon-auditor {cluster} run {summary.get('run_id', '?')}: {what}",
        "summary": dict(summary),
        "new_failures": [{k: d.get(k) for k in keep} for d in failures],
    }


# --------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------
def _env(name: str | None, what: str) -> str | None:
    if not name:
        return None
    value = os.environ.get(name)
    if value is None or value == "":
        raise InputError(f"{what}: environment variable {name} is not set")
    return value


def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


def send_mail(msg: EmailMessage, mail: MailSettings) -> None:
    """Send one message; raises OSError/smtplib.SMTPException/InputError on failure."""
    password = _env(mail.password_env, "mail password")
    if mail.ssl:
        server: smtplib.SMTP = smtplib.SMTP_SSL(mail.host, mail.port, timeout=mail.timeout,
                                                context=_ssl_context(mail.ca_file))
    else:
        server = smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout)
    try:
        server.ehlo()
        if mail.starttls:
            server.starttls(context=_ssl_context(mail.ca_file))
            server.ehlo()
        if mail.username:
            if password is None:
                raise InputError("mail username is set but password_env is not")
            server.login(mail.username, password)
        server.send_message(msg, from_addr=mail.from_addr, to_addrs=list(mail.to))
    finally:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            server.close()


def post_webhook(payload: Mapping[str, Any], hook: WebhookSettings, *, sleep=time.sleep) -> int:
    """POST JSON with bounded retries on network errors, 429 and 5xx; returns the HTTP status.

    4xx other than 429 is not retried (the request itself is wrong). Raises the last error.
    """
    url = hook.url or _env(hook.url_env, "webhook URL")
    if not url:
        raise InputError("webhook: url or url_env is required")
    if not url.lower().startswith(("https://", "http://")):
        raise InputError("webhook URL must start with http:// or https://")
    token = _env(hook.token_env, "webhook token")
    body = json.dumps(payload, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": f"paragon-auditor/{__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    context = _ssl_context(hook.ca_file) if url.lower().startswith("https://") else None
    attempts = 1 + max(0, min(int(hook.retries), MAX_RETRIES))
    last: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            sleep(min(hook.backoff * (2 ** (attempt - 1)), 60.0))
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=hook.timeout, context=context) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            last = exc
            if exc.code != 429 and exc.code < 500:
                break
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            last = exc
    assert last is not None
    raise last


def _describe(exc: BaseException) -> str:
    # Never echo the URL: it may carry a secret token in its path.
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def notify(report_summary: Mapping[str, Any], new_failures: Iterable[Finding | Mapping[str, Any]],
           config: NotifyConfig) -> NotifyResult:
    """Send the configured notifications if something new fails (or ``config.always``).

    ``report_summary`` keys used (all optional): cluster, run_id, finished_at, exit_code,
    failing ({severity: count}), nodes_unreachable, baseline_run, report (path or URL),
    warnings (list of text).
    ``new_failures`` are the ``new`` findings of the drift (Finding or finding dicts).
    Never raises for delivery problems: they are in ``NotifyResult.errors``.
    """
    failures = relevant_failures(new_failures, config.min_severity)
    go, reason = should_notify(failures, config)
    result = NotifyResult(triggered=go, reason=reason)
    if not go:
        return result
    if config.mail is not None:
        try:
            send_mail(build_mail(report_summary, failures, config.mail), config.mail)
            result.mail_sent = True
        except InputError as exc:
            result.errors.append(f"mail not sent: {exc}")
        except (smtplib.SMTPException, OSError) as exc:
            result.errors.append(f"mail not sent via {config.mail.host}:{config.mail.port}: {_describe(exc)}")
    if config.webhook is not None:
        try:
            post_webhook(build_payload(report_summary, failures), config.webhook)
            result.webhook_sent = True
        except InputError as exc:
            result.errors.append(f"webhook not sent: {exc}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            result.errors.append(f"webhook not sent: {_describe(exc)}")
    return result


# --------------------------------------------------------------------------------------
# Configuration file
# --------------------------------------------------------------------------------------
_MAIL_KEYS = {"host", "port", "starttls", "ssl", "from", "to", "username", "password_env", "ca_file", "timeout",
              "subject_prefix"}
_HOOK_KEYS = {"url", "url_env", "token_env", "timeout", "retries", "backoff", "ca_file"}
_TOP_KEYS = {"always", "min_severity", "mail", "webhook"}


def _check_keys(section: Mapping[str, Any], allowed: set[str], where: str, source: str) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})",
                         source=source)


def notify_config_from_dict(data: Mapping[str, Any], source: str = "<notify>") -> NotifyConfig:
    """Build a :class:`NotifyConfig` from parsed YAML/CLI values (validated, clear errors)."""
    if not isinstance(data, Mapping):
        raise InputError("notification settings must be a mapping", source=source)
    _check_keys(data, _TOP_KEYS, "notify", source)
    for key in ("password", "token"):
        if key in (data.get("mail") or {}) or key in (data.get("webhook") or {}):
            raise InputError(f"put secrets in environment variables ({key}_env), not in the file", source=source)
    cfg = NotifyConfig(always=bool(data.get("always", False)))
    try:
        cfg.min_severity = Severity.parse(str(data.get("min_severity", "low")))
    except ValueError as exc:
        raise InputError(str(exc), source=source) from None
    mail = data.get("mail")
    if mail:
        if not isinstance(mail, Mapping):
            raise InputError("mail: must be a mapping", source=source)
        _check_keys(mail, _MAIL_KEYS, "mail", source)
        to = mail.get("to")
        if isinstance(to, str):
            to = [t.strip() for t in to.split(",") if t.strip()]
        if not mail.get("host") or not mail.get("from") or not to:
            raise InputError("mail: host, from and to are required", source=source)
        try:
            cfg.mail = MailSettings(
                host=str(mail["host"]), from_addr=str(mail["from"]), to=[str(t) for t in to],
                port=int(mail.get("port", 465 if mail.get("ssl") else 25)),
                starttls=bool(mail.get("starttls", False)), ssl=bool(mail.get("ssl", False)),
                username=mail.get("username"), password_env=mail.get("password_env"),
                ca_file=mail.get("ca_file"), timeout=float(mail.get("timeout", 30)),
                subject_prefix=str(mail.get("subject_prefix", "[paragon-auditor]")),
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"mail: {exc}", source=source) from None
        if cfg.mail.ssl and cfg.mail.starttls:
            raise InputError("mail: choose ssl (implicit TLS) or starttls, not both", source=source)
    hook = data.get("webhook")
    if hook:
        if not isinstance(hook, Mapping):
            raise InputError("webhook: must be a mapping", source=source)
        _check_keys(hook, _HOOK_KEYS, "webhook", source)
        if not hook.get("url") and not hook.get("url_env"):
            raise InputError("webhook: url or url_env is required", source=source)
        try:
            cfg.webhook = WebhookSettings(
                url=hook.get("url"), url_env=hook.get("url_env"), token_env=hook.get("token_env"),
                timeout=float(hook.get("timeout", 10)), retries=int(hook.get("retries", 2)),
                backoff=float(hook.get("backoff", 2.0)), ca_file=hook.get("ca_file"),
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"webhook: {exc}", source=source) from None
    return cfg


def load_notify_config(path: str | Path) -> NotifyConfig:
    """Read a notification settings YAML file (see docs/scheduling.md)."""
    p = Path(path)
    try:
        text = read_hand_written(p)
    except OSError as exc:
        raise InputError(f"cannot read notification settings: {exc.strerror or exc}", source=str(p)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"notification settings must be UTF-8 text (byte {exc.start})", source=str(p)) from None
    data = load_yaml(text, str(p)) or {}  # duplicate keys and YAML errors name the line
    return notify_config_from_dict(data, source=str(p))
