"""Throughput of a signed-in page that decrypts 50+ values, against the public FAQ page.

    .venv/bin/python benchmarks/signed_in.py [--duration 10] [--rounds 3]

A customer administrator's team page lists 17 colleagues: each row decrypts a
first name, a last name and an e-mail address under that person's own data
key (51 values, plus the viewer's own). Both pages are served by the same
gunicorn server, so the ratio is what signing in, loading the user and the
team from the database, and decrypting cost against a cached public page.
Timings are reported, never asserted; the server is killed on every exit path.
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
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import (  # noqa: E402
    OUR_APP, BenchmarkError, Scenario, Server, clean_environment, free_port, gunicorn_settings,
    migrate_database, production_secrets, run_wrk,
)

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
    team = call("/account/team")
    if team.count("@bench.example") < COLLEAGUES + 1:
        raise BenchmarkError("signed-in team page does not list every colleague; sign-in failed?")
    return cookie


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
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
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        database_url = f"sqlite:///{tmp / 'bench.db'}"
        migrate_database(database_url)
        keys_env = production_secrets()
        email = seed(database_url, tmp, keys_env)
        env = clean_environment() | {
            "TRUSTCENTER_ENV": "production", "TRUSTCENTER_SECRET_KEY": secrets.token_urlsafe(48),
            "TRUSTCENTER_DATABASE_URL": database_url, "TRUSTCENTER_INSTANCE_PATH": str(tmp / "instance"),
        } | keys_env
        (tmp / "instance").mkdir()
        server = Server("ours", OUR_APP, free_port(), gunicorn_settings(args), env, tmp / "ours.log")
        try:
            server.start()
            server.wait_ready()
            cookie = sign_in(server.base_url, email)
            faq = Scenario("faq", "GET /faq (public, anonymous)", server.base_url + "/faq")
            faq_signed_in = Scenario("faq_signed_in", "GET /faq (signed in: rendered per request)",
                                     server.base_url + "/faq", headers=(f"Cookie: {cookie}",))
            team = Scenario("team", "GET /account/team (signed in, 51+ decryptions)",
                            server.base_url + "/account/team", headers=(f"Cookie: {cookie}",))
            scenarios = (faq, faq_signed_in, team)
            for scenario in scenarios:
                run_wrk(scenario.url, 2, args, scenario.headers, [server.pgid])  # warm-up
            for number in range(1, args.rounds + 1):
                for scenario in scenarios:
                    result = run_wrk(scenario.url, args.duration, args, scenario.headers, [server.pgid])
                    scenario.results.append(result)
                    print(f"  round {number}/{args.rounds}  {scenario.label:<48} "
                          f"{result.requests_per_second:9.1f} req/s", flush=True)
        finally:
            server.stop()
    ratio = team.median / faq.median
    print(f"\n{'scenario':<50}{'median req/s':>14}{'ratio to public /faq':>22}")
    for scenario in scenarios:
        print(f"{scenario.label:<50}{scenario.median:>14.1f}{scenario.median / faq.median:>22.2f}")
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(f"signed-in team page / public FAQ = {ratio:.2f}: {verdict} the target of at least {TARGET_RATIO}")
    print(f"signed-in team page / signed-in FAQ = {team.median / faq_signed_in.median:.2f} "
          "(the cost of the database and the decryptions against rendering a page)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
