"""Throughput of the team page with 50 people against a minimal reference app serving the same page.

    .venv/bin/python benchmarks/signed_in.py [--duration 10] [--rounds 5]

A customer administrator's team page lists the 50 people of their
organisation (the administrator and 49 colleagues). Our app opens each
person's first name, last name and e-mail address, sealed one by one under
that person's own data key, and the organisation's name: 151 values.

The reference (`benchmarks/team_reference_app.py`) is the least a Flask app
must do for the same page: Flask-Login loads the user by primary key (with
the organisation, one query) from the session cookie, one query reads the 50
rows, 51 AES-GCM opens under one key (each row's name and e-mail address
sealed together, and the organisation's name), a CSRF token, and the same HTML
(`benchmarks/templates/team_reference.html`).

Both run under gunicorn with identical settings. The script seeds both,
signs in to each, checks that both pages list all 50 people and are the same
HTML apart from their CSRF tokens, and that a second request sets no cookie
(so wrk replays a cookie the server would not rewrite). Then wrk loads each
in interleaved rounds (ABBA order), and the script prints the medians, their
ratio against the target, the per-round ratios and the servers' CPU time per
request. It exits 2 when a check fails, 0 whatever the ratio: timings are
reported, never asserted. Both servers are killed on every exit path.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import (
    MAX_FOREIGN_CORES,
    OUR_APP,
    BenchmarkError,
    Scenario,
    Server,
    check_bytes_per_request,
    clean_environment,
    environment,
    free_port,
    group_cpu_seconds,
    gunicorn_settings,
    migrate_database,
    print_environment,
    production_secrets,
    run_wrk,
)

REFERENCE_APP = "benchmarks.team_reference_app:create_app()"
TARGET_RATIO = 0.7  # ours / reference, requests per second
PEOPLE = 50  # on the page: the administrator and 49 colleagues
ORGANISATION = "Benchmark Analytics Ltd"
PASSWORD = "benchmark passphrase for the team page"
TEAM = "/account/team"
# Our idle timeout rewrites a session cookie once it is a minute old; wrk's must stay younger.
COOKIE_FRESH_SECONDS = 55
ROW = re.compile(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>")
CSRF_TOKEN = re.compile(r'(name="csrf[-_]token"[^>]*(?:content|value)=")[^"]+"')


# --------------------------------------------------------------------------- seeding


def seed_ours(database_url: str, keystore_url: str, instance: Path, keys_env: dict[str, str]) -> str:
    """The administrator and 49 colleagues, sealed under the server's root keys; returns the admin's address."""
    import os

    os.environ.update(keys_env)  # the server and this seeding must share the root keys
    from trustcenter import create_app
    from trustcenter.accounts import service
    from trustcenter.extensions import db

    app = create_app({"ENV": "testing", "SECRET_KEY": "s" * 48, "DATABASE_URL": database_url,
                      "KEYSTORE_URL": keystore_url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        session = db.session()
        org = service.create_organisation(session, ORGANISATION)
        admin = service.create_user(session, org, "admin@bench.example", "customer_admin", password=PASSWORD,
                                    first_name="Ada", last_name="Admin")
        for number in range(PEOPLE - 1):
            service.create_user(session, org, f"colleague{number}@bench.example", "customer_member",
                                first_name=f"Colleague{number}", last_name=f"Surname{number}")
        session.commit()
        email = admin.email
    app.extensions["mail_worker"].stop()
    return email


def seed_reference(database_url: str, env: dict[str, str], page: str) -> None:
    """The reference's database: the people exactly as our page lists them, in its order."""
    import os

    people = [(html.unescape(name), html.unescape(email), html.unescape(role), status.lower())
              for name, email, role, status in ROW.findall(page)]
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        from benchmarks.team_reference_app import create_app, seed

        seed(create_app(database_url), ORGANISATION, people)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --------------------------------------------------------------------------- HTTP


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def call(base_url: str, path: str, cookie: str = "", data: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Status, body and the cookie to send next (the server's Set-Cookie if any, else `cookie`).

    Production cookies are marked Secure, which a cookie jar will not send over
    plain HTTP on loopback, so the cookie is carried by hand.
    """
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(base_url + path, data=body, headers={"Cookie": cookie} if cookie else {})
    try:
        response = opener.open(request, timeout=30)
    except urllib.error.HTTPError as answer:  # redirects and errors alike
        response = answer
    for header in response.headers.get_all("Set-Cookie") or []:
        cookie = header.split(";", 1)[0]
    return response.status, response.read().decode(), cookie


def settled_cookie(base_url: str, cookie: str) -> str:
    """Fetch the team page as a browser would after signing in, and keep the cookie it settles on.

    The first page adds the CSRF token to the session; a browser stores that
    cookie, wrk cannot. A second request must then set no cookie at all.
    """
    status, _, cookie = call(base_url, TEAM, cookie)
    if status != 200:
        raise BenchmarkError(f"{base_url}{TEAM} answered {status} after signing in")
    status, _, again = call(base_url, TEAM, cookie)
    if status != 200 or again != cookie:
        raise BenchmarkError(f"{base_url}{TEAM} still rewrites the session cookie on a second request")
    return cookie


def sign_in_ours(base_url: str, email: str) -> str:
    """Sign in through the real form; returns the settled Cookie header value."""
    _, page, cookie = call(base_url, "/account/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise BenchmarkError("our sign-in page has no CSRF token")
    status, _, cookie = call(base_url, "/account/login", cookie,
                             {"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
    if status != 303:  # 429 when signed in too often: fewer --rounds
        raise BenchmarkError(f"signing in to our app answered {status}, not 303")
    return settled_cookie(base_url, cookie)


def sign_in_reference(base_url: str) -> str:
    status, _, cookie = call(base_url, "/login", data={"user_id": "1"})
    if status != 200:
        raise BenchmarkError(f"signing in to the reference answered {status}")
    return settled_cookie(base_url, cookie)


def team_page(base_url: str, cookie: str) -> str:
    """The team page, which must list every person, or the measurement would be meaningless."""
    status, body, _ = call(base_url, TEAM, cookie)
    if status != 200:
        raise BenchmarkError(f"{base_url}{TEAM} answered {status} to the signed-in administrator")
    if len(ROW.findall(body)) != PEOPLE or body.count("@bench.example") != PEOPLE:
        raise BenchmarkError(f"{base_url}{TEAM} does not list all {PEOPLE} people; sign-in failed?")
    return body


def check_same_page(ours: str, reference: str) -> None:
    """The two pages must be the same HTML apart from their CSRF tokens."""
    ours_plain, reference_plain = (CSRF_TOKEN.sub(r'\1-"', page) for page in (ours, reference))
    if ours_plain != reference_plain:
        import difflib

        diff = "\n".join(list(difflib.unified_diff(ours_plain.splitlines(), reference_plain.splitlines(),
                                                   "ours", "reference", lineterm=""))[:40])
        raise BenchmarkError("the reference page differs from ours; update "
                             "benchmarks/templates/team_reference.html:\n" + diff)


# --------------------------------------------------------------------------- run


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded load per server (default 2)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5; at most 10, "
                        "because sign-ins are throttled)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, both servers (default 2)")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (default gthread)")
    parser.add_argument("--gunicorn-threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--keep-alive", type=int, default=2, help="gunicorn keep-alive seconds (default 2)")
    parser.add_argument("--worker-connections", type=int,
                        help="connections one gunicorn worker accepts at most (default: its share of wrk's "
                             "connections plus --gunicorn-threads, so every worker gets some)")
    parser.add_argument("--wait-for-idle", type=float, default=60,
                        help="wait up to this many seconds for a quiet machine before each measurement")
    parser.add_argument("--json", type=Path, help="also write the environment and results to this file")
    parser.set_defaults(app=OUR_APP, app_env=[])  # what load.environment() records
    args = parser.parse_args(argv)
    if args.worker_connections is None:
        args.worker_connections = -(-args.connections // args.workers) + args.gunicorn_threads
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be 1 to 10")
    if not 1 <= args.duration <= COOKIE_FRESH_SECONDS - 5:
        parser.error(f"--duration must be 1 to {COOKIE_FRESH_SECONDS - 5} seconds: "
                     "the idle timeout rewrites an older session cookie")
    return args


def measure(args: argparse.Namespace, tmp: Path) -> tuple[Scenario, Scenario, dict[str, list[float]]]:
    database_url, keystore_url = f"sqlite:///{tmp / 'bench.db'}", f"sqlite:///{tmp / 'keys.db'}"
    migrate_database(database_url, keystore_url)
    keys_env = production_secrets()
    email = seed_ours(database_url, keystore_url, tmp / "seed", keys_env)
    (tmp / "instance").mkdir()
    ours_env = clean_environment() | {
        "TRUSTCENTER_ENV": "production", "TRUSTCENTER_SITE_URL": "https://trust.example.com",
        "TRUSTCENTER_SECRET_KEY": secrets.token_urlsafe(48), "TRUSTCENTER_DATABASE_URL": database_url,
        "TRUSTCENTER_KEYSTORE_URL": keystore_url, "TRUSTCENTER_INSTANCE_PATH": str(tmp / "instance"),
    } | keys_env
    reference_url = f"sqlite:///{tmp / 'reference.db'}"
    reference_env = {"BENCH_REFERENCE_DATABASE_URL": reference_url,
                     "BENCH_REFERENCE_SECRET_KEY": secrets.token_urlsafe(48),
                     "BENCH_REFERENCE_KEY": secrets.token_bytes(32).hex()}
    # wrk opens all its keep-alive connections at once; with no cap, one worker may accept every one
    # of them and the other idle, which halves a run's throughput at random. Capped, both serve.
    settings = gunicorn_settings(args) + ["--worker-connections", str(args.worker_connections)]
    servers: list[Server] = []
    try:
        ours = Server("ours", OUR_APP, free_port(), settings, ours_env, tmp / "ours.log")
        servers.append(ours)
        ours.start()
        ours.wait_ready()
        page = team_page(ours.base_url, sign_in_ours(ours.base_url, email))
        seed_reference(reference_url, reference_env, page)
        reference = Server("reference", REFERENCE_APP, free_port(), settings,
                           clean_environment() | reference_env, tmp / "reference.log")
        servers.append(reference)
        reference.start()
        reference.wait_ready()
        reference_cookie = sign_in_reference(reference.base_url)
        check_same_page(page, team_page(reference.base_url, reference_cookie))
        print(f"Both pages list all {PEOPLE} people and are the same {len(page.encode())} bytes of HTML "
              "apart from their CSRF tokens.", flush=True)

        ours_team = Scenario("ours_team", f"ours       GET {TEAM}", ours.base_url + TEAM)
        reference_team = Scenario("reference_team", f"reference  GET {TEAM}", reference.base_url + TEAM,
                                  headers=(f"Cookie: {reference_cookie}",))
        pgids = [ours.pgid, reference.pgid]
        page_bytes = len(page.encode())

        signed_in = {"cookie": "", "at": 0.0}
        cpu_ms: dict[str, list[float]] = {ours_team.key: [], reference_team.key: []}  # server CPU per request

        def our_cookie(duration: int) -> str:
            # Our idle timeout rewrites a cookie older than a minute on every request it sees; a
            # browser would store the new one, wrk cannot. So wrk gets a cookie that stays younger
            # than that until the run ends, from a fresh sign-in when needed.
            if time.monotonic() - signed_in["at"] + duration > COOKIE_FRESH_SECONDS:
                signed_in["cookie"], signed_in["at"] = sign_in_ours(ours.base_url, email), time.monotonic()
            return signed_in["cookie"]

        server_of = {ours_team.key: ours, reference_team.key: reference}

        def run(scenario: Scenario, duration: int) -> None:
            headers = (f"Cookie: {our_cookie(duration)}",) if scenario is ours_team else scenario.headers
            pgid = server_of[scenario.key].pgid
            cpu_before = group_cpu_seconds([pgid])
            result = run_wrk(scenario.url, duration, args, headers, pgids)
            cpu = group_cpu_seconds([pgid]) - cpu_before
            check_bytes_per_request(scenario, result, page_bytes)  # a lost session answers short redirects
            if duration == args.duration:
                scenario.results.append(result)
                cpu_ms[scenario.key].append(cpu / result.requests * 1000)

        if args.warmup:
            print(f"Warming up ({args.warmup}s each)...", flush=True)
            for scenario in (ours_team, reference_team):
                run(scenario, args.warmup)
        for number in range(1, args.rounds + 1):
            # ABBA order: a machine that slows down or speeds up during the run favours neither.
            for scenario in (ours_team, reference_team) if number % 2 else (reference_team, ours_team):
                run(scenario, args.duration)
                result = scenario.results[-1]
                print(f"  round {number}/{args.rounds}  {scenario.label:<30} {result.requests_per_second:9.1f} req/s"
                      f"  {cpu_ms[scenario.key][-1]:5.2f} ms CPU/request"
                      f"  other load {result.foreign_cores or 0:.2f} cores"
                      + ("  DISTURBED" if result.disturbed else ""), flush=True)
        return ours_team, reference_team, cpu_ms
    finally:
        for server in reversed(servers):
            server.stop()


def report(ours: Scenario, reference: Scenario, cpu_ms: dict[str, list[float]]) -> dict[str, Any]:
    ratio = ours.median / reference.median
    paired = [a / b for a, b in zip(ours.rates, reference.rates)]
    cpu = {key: statistics.median(values) for key, values in cpu_ms.items()}
    print(f"\n{'scenario':<32}{'median req/s':>13}{'CPU ms/req':>12}   rounds (req/s)")
    for scenario in (ours, reference):
        rounds = " ".join(f"{r.requests_per_second:8.1f}{'*' if r.disturbed else ' '}" for r in scenario.results)
        print(f"{scenario.label:<32}{scenario.median:>13.1f}{cpu[scenario.key]:>12.2f}   {rounds}")
    disturbed = sum(r.disturbed for s in (ours, reference) for r in s.results)
    if disturbed:
        print(f"* {disturbed} measurement(s) ran while other processes used more than {MAX_FOREIGN_CORES} cores: "
              "those figures are low and the ratios noisy; rerun on a quiet machine.")
    verdict = "MEETS" if ratio >= TARGET_RATIO else "BELOW"
    print(f"\nours / reference = {ratio:.3f} (ratio of the medians): {verdict} the target {TARGET_RATIO}")
    print(f"per-round ratios {', '.join(f'{r:.3f}' for r in paired)}; their median {statistics.median(paired):.3f}")
    cpu_ratio = cpu[reference.key] / cpu[ours.key]
    print(f"server CPU per request, reference / ours = {cpu_ratio:.3f} (the same question, less sensitive to "
          "what else the machine does)")
    return {"target_ratio": TARGET_RATIO, "ratio": round(ratio, 3), "paired_ratios": [round(r, 3) for r in paired],
            "cpu_ms_per_request": {key: [round(v, 3) for v in values] for key, values in cpu_ms.items()},
            "cpu_ratio": round(cpu_ratio, 3),
            "raw": {s.key: [asdict(r) for r in s.results] for s in (ours, reference)}}


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)  # the `finally` that stops both servers must run
    env_info = environment(args)
    env_info["settings"]["gunicorn_worker_connections"] = args.worker_connections
    print_environment(env_info)
    print(f"  (and --worker-connections {args.worker_connections} for both servers)\n")
    try:
        with tempfile.TemporaryDirectory(prefix="trustcenter-bench-") as tmp:
            ours, reference, cpu_ms = measure(args, Path(tmp))
    except BenchmarkError as error:
        print(f"\nBENCHMARK FAILED: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    results = report(ours, reference, cpu_ms)
    if args.json:
        args.json.write_text(json.dumps({"environment": env_info, **results}, indent=2) + "\n", encoding="utf-8")
        print(f"\nResults written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
