"""Throughput of a signed-in page that decrypts 51 values, against the public FAQ page and a control.

    .venv/bin/python benchmarks/signed_in.py [--duration 10] [--rounds 3]

A customer administrator's team page lists 17 people: each row decrypts a
first name, a last name and an e-mail address under that person's own data
key (51 values). One gunicorn server (`benchmarks.signed_in_app`, our app plus
one control page) serves, in interleaved rounds:

- the public FAQ page to an anonymous visitor (from the page cache);
- the FAQ page to the signed-in administrator (rendered per request);
- the team page (session, viewer and team read from the database, 51 decryptions);
- the same team page rendered from values held in memory: same guard, template,
  form and layout, no team query and no decryption.

It prints each median and two ratios: team / public FAQ, and team / team from
memory (what the encrypted store costs this page). Before measuring it checks
that both team pages list every colleague; during it, that every response was
a whole page (a lost session would answer short redirects). Timings are
reported, never asserted; the server is killed on every exit path.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import (
    BenchmarkError,
    Scenario,
    Server,
    check_bytes_per_request,
    clean_environment,
    free_port,
    gunicorn_settings,
    migrate_database,
    production_secrets,
    run_wrk,
)
from benchmarks.signed_in_app import CONTROL_PATH

APP = "benchmarks.signed_in_app:create_app()"
# At least half the throughput of the public FAQ page, and of the same page served from memory.
TARGET_RATIO = 0.5
COLLEAGUES = 16
PASSWORD = "benchmark passphrase for the team page"


def seed(database_url: str, instance: Path, keys_env: dict[str, str]) -> str:
    """A tenant with an administrator and 16 colleagues, sealed under the server's keys."""
    import os

    os.environ.update(keys_env)  # the server and this seeding must share the root keys
    from trustcenter import create_app
    from trustcenter.accounts import service
    from trustcenter.extensions import db

    app = create_app({"ENV": "testing", "SECRET_KEY": "s" * 48, "DATABASE_URL": database_url,
                      "INSTANCE_PATH": str(instance / "seed")})
    with app.app_context():
        session = db.session()
        org = service.create_organisation(session, "Benchmark Analytics Ltd")
        admin = service.create_user(session, org, "admin@bench.example", "customer_admin", password=PASSWORD,
                                    first_name="Ada", last_name="Admin")
        for number in range(COLLEAGUES):
            service.create_user(session, org, f"colleague{number}@bench.example", "customer_member",
                                first_name=f"Colleague{number}", last_name=f"Surname{number}")
        session.commit()
        return admin.email


def sign_in(base_url: str, email: str) -> str:
    """Sign in through the real form and return the Cookie header value.

    Production cookies are marked Secure, which a cookie jar will not send over
    plain HTTP on loopback, so the cookie is carried by hand.
    """
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    cookie = ""

    def call(path: str, data: bytes | None = None) -> str:
        nonlocal cookie
        request = urllib.request.Request(base_url + path, data=data, headers={"Cookie": cookie} if cookie else {})
        try:
            response = opener.open(request, timeout=30)
        except urllib.error.HTTPError as redirect:  # 303 after the form, by design
            response = redirect
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = header.split(";", 1)[0]
        return response.read().decode()

    page = call("/account/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    call("/account/login", urllib.parse.urlencode({"email": email, "password": PASSWORD,
                                                    "csrf_token": token}).encode())
    return cookie


def fetch_page(base_url: str, path: str, cookie: str) -> str:
    """A signed-in page that must list every colleague, or the measurement would be meaningless."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    request = urllib.request.Request(base_url + path, headers={"Cookie": cookie})
    try:
        body = opener.open(request, timeout=30).read().decode()
    except urllib.error.HTTPError as error:
        raise BenchmarkError(f"{path} answered {error.code} to the signed-in administrator") from None
    if body.count("@bench.example") < COLLEAGUES + 1:
        raise BenchmarkError(f"{path} does not list every colleague; sign-in failed?")
    return body


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--keep-alive", type=int, default=2)
    parser.add_argument("--wait-for-idle", type=float, default=30)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    try:
        scenarios = measure(args)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report(scenarios)
    return 0


def measure(args: argparse.Namespace) -> dict[str, Scenario]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        database_url = f"sqlite:///{tmp / 'bench.db'}"
        migrate_database(database_url)
        keys_env = production_secrets()
        email = seed(database_url, tmp, keys_env)
        env = clean_environment() | {
            "TRUSTCENTER_ENV": "production", "TRUSTCENTER_SITE_URL": "https://trust.example.com",
            "TRUSTCENTER_SECRET_KEY": secrets.token_urlsafe(48),
            "TRUSTCENTER_DATABASE_URL": database_url, "TRUSTCENTER_INSTANCE_PATH": str(tmp / "instance"),
        } | keys_env
        (tmp / "instance").mkdir()
        server = Server("ours", APP, free_port(), gunicorn_settings(args), env, tmp / "ours.log")
        try:
            server.start()
            server.wait_ready()
            base, cookie = server.base_url, sign_in(server.base_url, email)
            signed_in = (f"Cookie: {cookie}",)
            sizes = {path: len(fetch_page(base, path, cookie).encode()) for path in ("/account/team", CONTROL_PATH)}
            scenarios = {
                "faq": Scenario("faq", "GET /faq (public, anonymous)", base + "/faq"),
                "faq_signed_in": Scenario("faq_signed_in", "GET /faq (signed in: rendered per request)",
                                          base + "/faq", headers=signed_in),
                "team": Scenario("team", "GET /account/team (51 decryptions)", base + "/account/team",
                                 headers=signed_in),
                "team_memory": Scenario("team_memory", "same team page, values in memory",
                                        base + CONTROL_PATH, headers=signed_in),
            }

            def headers(scenario: Scenario) -> tuple[str, ...]:
                # A browser stores the cookie the idle timeout refreshes once a minute; wrk cannot,
                # so after a minute every request would re-sign it. A fresh sign-in per run instead.
                return (f"Cookie: {sign_in(base, email)}",) if scenario.headers else ()

            for scenario in scenarios.values():
                run_wrk(scenario.url, 2, args, headers(scenario), [server.pgid])  # warm-up
            for number in range(1, args.rounds + 1):
                for scenario in scenarios.values():
                    result = run_wrk(scenario.url, args.duration, args, headers(scenario), [server.pgid])
                    path = urllib.parse.urlsplit(scenario.url).path
                    if path in sizes:
                        check_bytes_per_request(scenario, result, sizes[path])
                    scenario.results.append(result)
                    print(f"  round {number}/{args.rounds}  {scenario.label:<44} "
                          f"{result.requests_per_second:9.1f} req/s", flush=True)
        finally:
            server.stop()
    return scenarios


def report(scenarios: dict[str, Scenario]) -> None:
    faq, team, memory = scenarios["faq"], scenarios["team"], scenarios["team_memory"]
    print(f"\n{'scenario':<46}{'median req/s':>14}{'/ public FAQ':>14}{'/ team from memory':>20}")
    for scenario in scenarios.values():
        print(f"{scenario.label:<46}{scenario.median:>14.1f}{scenario.median / faq.median:>14.2f}"
              f"{scenario.median / memory.median:>20.2f}")
    for name, baseline in (("public FAQ page (page cache)", faq), ("same page from memory", memory)):
        ratio = team.median / baseline.median
        verdict = "meets" if ratio >= TARGET_RATIO else "misses"
        print(f"team page / {name} = {ratio:.2f}: {verdict} the target of at least {TARGET_RATIO}")


if __name__ == "__main__":
    raise SystemExit(main())
