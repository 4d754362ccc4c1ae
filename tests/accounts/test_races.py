"""One-time things used by several sessions at the same moment work once: a TOTP code, a recovery code, a reset link.

Real concurrent requests to gunicorn with several worker processes, on every
configured database (PostgreSQL in CI): the claim must be atomic in the
database, not merely in one process.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pyotp
import pytest

from tests.conftest import csrf_token_from
from tests.processes import BIN, Browser, cli, process, production_env, wait_for_mail, web
from tests.smtp import free_port

PASSWORD = "a long production passphrase"
CONCURRENT = 4
EMAIL = "sam.sample@northwind.example"


def signed_in_with_password(port: int, source: str) -> Browser:
    browser = Browser(port, forwarded_for=source)
    status, location, _ = browser.submit("/account/login", "/account/login", {"email": EMAIL, "password": PASSWORD})
    assert status == 303 and location.endswith("/account/login/verify"), (status, location)
    return browser


def enrol(port: int) -> tuple[str, list[str]]:
    """Turn on TOTP through the security page; returns the secret and the recovery codes shown."""
    browser = Browser(port, forwarded_for="192.0.2.1")
    status, _, _ = browser.submit("/account/login", "/account/login", {"email": EMAIL, "password": PASSWORD})
    assert status == 303
    page = browser.request("GET", "/account/security")[2]
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    status, _, page = browser.submit("/account/security", "/account/security",
                                     {"code": pyotp.TOTP(secret).now()})
    assert status == 200, page
    return secret, re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page)


def all_at_once(browsers: list[Browser], code: str) -> list[int]:
    """POST the same code from every session, released together."""
    return posted_together(browsers, "/account/login/verify", {"code": code})


def posted_together(browsers: list[Browser], path: str, form: dict[str, str]) -> list[int]:
    """Each browser loads `path` for its CSRF token, then all POST `form` to it at once; their statuses."""
    tokens = [csrf_token_from(browser.request("GET", path)[2]) for browser in browsers]
    start, statuses = threading.Barrier(len(browsers)), [0] * len(browsers)

    def send(number: int) -> None:
        start.wait()
        statuses[number] = browsers[number].request("POST", path, {**form, "csrf_token": tokens[number]})[0]

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def prepare_one_member(env: dict[str, str], app) -> None:
    """A production database holding one customer member, prepared by the CLI as an operator would."""
    app.extensions["mail_worker"].stop()  # the test app only prepared and will empty the databases
    cli(env, "db", "upgrade")
    cli(env, "orgs", "create", "Northwind Analytics Ltd")
    cli(env, "users", "create", "--email", EMAIL, "--role", "customer_member", "--org", "northwind analytics ltd",
        "--password-stdin", stdin=PASSWORD + "\n")


def test_a_code_sent_at_once_from_several_sessions_signs_in_one(databases, tmp_path, app):
    env = production_env(databases, tmp_path, free_port())
    prepare_one_member(env, app)
    port, log = free_port(), tmp_path / "web.log"
    with web(env, port, log, workers=CONCURRENT):
        secret, recovery_codes = enrol(port)
        assert len(recovery_codes) == 10
        # The next time step: enrolment used the current one.
        next_code = pyotp.TOTP(secret).at(time.time() + 30)
        browsers = [signed_in_with_password(port, f"198.51.100.{n}") for n in range(CONCURRENT)]
        statuses = all_at_once(browsers, next_code)
        assert sorted(statuses) == [303] + [422] * (CONCURRENT - 1), statuses

        browsers = [signed_in_with_password(port, f"203.0.113.{n}") for n in range(CONCURRENT)]
        statuses = all_at_once(browsers, recovery_codes[0])
        assert sorted(statuses) == [303] + [422] * (CONCURRENT - 1), statuses
    assert "Traceback" not in log.read_text()


def test_a_reset_link_opened_at_once_in_several_browsers_changes_the_password_once(databases, tmp_path, app,
                                                                                    smtp_server):
    env = production_env(databases, tmp_path, smtp_server.port)
    prepare_one_member(env, app)
    port, log = free_port(), tmp_path / "processes.log"
    with process([str(BIN / "trustcenter"), "worker", "--poll", "0.2"], env, log), \
            web(env, port, log, workers=CONCURRENT):
        assert Browser(port).submit("/account/reset", "/account/reset", {"email": EMAIL})[0] == 200
        [mail] = wait_for_mail(smtp_server.mailbox, 1)
        path = re.search(r"https://trust\.example(/account/reset/\S+)", mail.get_body(("plain",)).get_content()).group(1)
        browsers = [Browser(port, forwarded_for=f"198.51.100.{n}") for n in range(CONCURRENT)]
        statuses = posted_together(browsers, path, {"password": "another long passphrase"})
        # One changes the password; the others see the link refused: on the form (200) if they read it
        # before the winner committed, or as an expired link (410) if after.
        assert statuses.count(303) == 1 and set(statuses) <= {200, 303, 410}, statuses
        changed = wait_for_mail(smtp_server.mailbox, 2)
        time.sleep(1)  # a second "password changed" mail would have been queued by now
    assert len(smtp_server.mailbox.messages) == 2, [m["Subject"] for m in smtp_server.mailbox.messages]
    assert "password was changed" in str(changed[1]["Subject"])
    assert "Traceback" not in log.read_text()


def test_a_link_read_by_two_requests_is_spent_by_one(app, people):
    """Both requests read the token as unused; the one that writes second must be refused by the database."""
    from trustcenter.accounts import service
    from trustcenter.accounts.models import User
    from trustcenter.extensions import session_factory

    new_session = session_factory(app)
    first, second = new_session(), new_session()
    try:
        user = first.get(User, people["a_member"].user_id)
        raw = service.issue_token(first, user, "reset", dt.timedelta(hours=1))
        first.commit()
        seen = service.valid_token(first, raw, "reset")  # kept, as a request holds what it read
        assert seen is not None and service.valid_token(second, raw, "reset") is not None  # both see it unused
        service.redeem_token(second, raw, "reset")
        second.commit()
        with pytest.raises(service.AccountError):
            service.redeem_token(first, raw, "reset")
    finally:
        first.close()
        second.close()
