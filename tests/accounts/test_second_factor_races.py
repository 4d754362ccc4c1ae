"""One TOTP code, or one recovery code, sent by several sessions at the same moment signs in one of them.

Real concurrent requests to gunicorn with several worker processes, on every
configured database (PostgreSQL in CI): the claim must be atomic in the
database, not merely in one process.
"""

from __future__ import annotations

import re
import threading
import time

import pyotp

from tests.conftest import csrf_token_from
from tests.processes import Browser, cli, production_env, web
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
    tokens = [csrf_token_from(browser.request("GET", "/account/login/verify")[2]) for browser in browsers]
    start, statuses = threading.Barrier(len(browsers)), [0] * len(browsers)

    def send(number: int) -> None:
        start.wait()
        statuses[number] = browsers[number].request("POST", "/account/login/verify",
                                                    {"code": code, "csrf_token": tokens[number]})[0]

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_a_code_sent_at_once_from_several_sessions_signs_in_one(databases, tmp_path, app):
    env = production_env(databases, tmp_path, free_port())
    app.extensions["mail_worker"].stop()
    cli(env, "db", "upgrade")
    cli(env, "orgs", "create", "Northwind Analytics Ltd")
    cli(env, "users", "create", "--email", EMAIL, "--role", "customer_member", "--org", "northwind analytics ltd",
        "--password-stdin", stdin=PASSWORD + "\n")
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
