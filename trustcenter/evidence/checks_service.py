"""Checks on the running service: HTTPS and HSTS, two-factor authentication, the notification path."""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from urllib.parse import urlsplit

from sqlalchemy import func, select

from trustcenter.accounts.models import User
from trustcenter.accounts.roles import MFA_REQUIRED, PROVIDER_ROLES
from trustcenter.db import as_utc
from trustcenter.evidence.models import WorkerHeartbeat
from trustcenter.evidence.probe import FAILING, NOT_CHECKED, PASSING, Outcome, Probe, plural, sentence, worst
from trustcenter.notify import transport_name

HSTS_MIN_SECONDS = 365 * 24 * 3600
HEARTBEAT_MAX_AGE = dt.timedelta(minutes=5)
SMTP_PROBE_TIMEOUT = 5.0
WORKER = "worker"


def https(probe: Probe) -> Outcome:
    """Production only; an https request gets HSTS (through the proxy fix when TRUST_PROXY is on)."""
    config = probe.app.config
    if config["ENV"] != "production":
        return Outcome(FAILING, f"This deployment runs in {config['ENV']} mode without HTTPS.",
                       {"env": config["ENV"]})
    site = urlsplit(config["SITE_URL"])
    problems = [] if site.scheme == "https" else ["SITE_URL does not start with https://"]
    if not config["SESSION_COOKIE_SECURE"]:
        problems.append("the session cookie is not marked Secure")
    hsts, redirected = _probe_hsts(probe, site.netloc)
    if hsts < HSTS_MIN_SECONDS:
        problems.append("an HTTPS request gets no HSTS header of a year or more")
    details = {"site_url": config["SITE_URL"], "hsts_max_age": hsts, "trust_proxy": bool(config["TRUST_PROXY"]),
               "app_redirects_http": redirected, "problems": problems}
    if problems:
        return Outcome(FAILING, sentence(problems), details)
    http = ("the application redirects plain http" if redirected
            else "plain http is redirected by the reverse proxy in front of it")
    return Outcome(PASSING, f"Production serves {config['SITE_URL']} over HTTPS with HSTS "
                   f"(max-age {hsts}); {http}.", details)


def _probe_hsts(probe: Probe, host: str) -> tuple[int, bool]:
    """HSTS max-age on an https request to the app itself, and whether plain http is redirected."""
    client = probe.app.test_client()
    if probe.app.config["TRUST_PROXY"]:  # TLS ends at the proxy, which says so in X-Forwarded-Proto
        secure = client.get("/healthz", base_url=f"http://{host}", headers={"X-Forwarded-Proto": "https"})
    else:
        secure = client.get("/healthz", base_url=f"https://{host}")
    plain = client.get("/healthz", base_url=f"http://{host}")
    redirected = plain.status_code in (301, 302, 307, 308) and (plain.location or "").startswith("https://")
    return _max_age(secure.headers.get("Strict-Transport-Security", "")), redirected


def _max_age(header: str) -> int:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.strip().isdigit():
            return int(value)
    return 0


def two_factor(probe: Probe) -> Outcome:
    """The roles that see other people's data require TOTP, and every active holder has it on."""
    policy_gap = sorted(role.value for role in PROVIDER_ROLES - MFA_REQUIRED)
    rows = probe.session.execute(select(User.role, User.totp_enabled, func.count()).where(
        User.role.in_([role.value for role in PROVIDER_ROLES]), User.status == "active")
        .group_by(User.role, User.totp_enabled)).all()
    without = {role: count for role, enabled, count in rows if not enabled}
    total = sum(count for _role, _enabled, count in rows)
    details = {"people": total, "without_second_factor_by_role": without, "roles_not_required": policy_gap}
    if policy_gap:
        return Outcome(FAILING, f"Two-factor authentication is not required for: {', '.join(policy_gap)}.", details)
    if without:
        missing = sum(without.values())
        return Outcome(FAILING, f"{plural(missing, 'person', 'people')} with access to other people's data "
                       f"{'has' if missing == 1 else 'have'} not set up two-factor authentication yet "
                       "(they see no data until they do).", details)
    return Outcome(PASSING, f"Required for staff, the DPO and administrators; all {plural(total, 'person', 'people')} "
                   "in those roles use it.", details)


def notification_path(probe: Probe) -> Outcome:
    """The worker went round its loop in the last five minutes and the SMTP server answers."""
    parts = [_heartbeat(probe), _smtp(probe)]
    details = {"worker": parts[0].details, "smtp": parts[1].details}
    return Outcome(worst(parts), " ".join(part.summary for part in parts), details)


def _heartbeat(probe: Probe) -> Outcome:
    beat = probe.session.get(WorkerHeartbeat, WORKER)
    if beat is None:
        return Outcome(FAILING, "No worker has ever run, so nothing would be delivered.", {"last_beat_at": None})
    age = probe.now - as_utc(beat.beat_at)
    details = {"last_beat_at": as_utc(beat.beat_at).isoformat(), "age_seconds": int(age.total_seconds())}
    words = _ago(age)
    if age > HEARTBEAT_MAX_AGE:
        return Outcome(FAILING, f"The worker last ran {words} ago, so notices are not being delivered.", details)
    return Outcome(PASSING, f"The worker ran {words} ago.", details)


def _smtp(probe: Probe) -> Outcome:
    config = probe.app.config
    if transport_name(config) != "smtp":
        return Outcome(NOT_CHECKED, "Mail is written to files (MAIL_TRANSPORT=file, as in development), so no "
                       "mail server was checked.", {"transport": "file"})
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    details = {"transport": "smtp", "host": host, "port": port}
    try:
        code = _smtp_noop(host, port, bool(config["SMTP_SSL"]), min(SMTP_PROBE_TIMEOUT, config["SMTP_TIMEOUT"]))
    except (OSError, smtplib.SMTPException) as error:
        return Outcome(FAILING, f"The mail server {host}:{port} did not answer ({type(error).__name__}).", details)
    if code != 250:
        return Outcome(FAILING, f"The mail server {host}:{port} answered NOOP with {code}.", details)
    return Outcome(PASSING, f"The mail server {host}:{port} answers.", details)


def _smtp_noop(host: str, port: int, implicit_tls: bool, timeout: float) -> int:
    """Connect, EHLO and NOOP; no mail is sent and nobody signs in."""
    client = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
              if implicit_tls else smtplib.SMTP(host, port, timeout=timeout))
    try:
        client.ehlo()
        return client.noop()[0]
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _ago(age: dt.timedelta) -> str:
    seconds = max(int(age.total_seconds()), 0)
    if seconds < 120:
        return plural(seconds, "second")
    if seconds < 7200:
        return plural(seconds // 60, "minute")
    return plural(seconds // 3600, "hour")
