"""Instructions per request of the team page, ours and the reference's, counted by valgrind in-process.

    .venv/bin/python benchmarks/team_instructions.py [--requests 20]

Throughput under load swings with whatever else the machine does; an
instruction count does not. For each app this runs itself under
`valgrind --tool=callgrind`, seeds the same 50 people as `signed_in.py`,
signs in through Flask's test client, warms up with 30 requests, and counts
only the instructions of the next `--requests` requests (callgrind collects
inside `operator.call`, which nothing else on the path uses). It prints the
millions of instructions per request and their ratio. Our app runs with
production settings; the test client replaces gunicorn and the network.
Needs valgrind (`apt-get install valgrind`); takes a few minutes.
"""

from __future__ import annotations

import argparse
import operator
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from flask.testing import FlaskClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import migrate_database, production_secrets
from benchmarks.signed_in import ORGANISATION, PASSWORD, ROW, TEAM, seed_ours

WARM_UP = 30
SITE = "https://trust.example.com"


def our_client(tmp: Path) -> tuple[FlaskClient, dict[str, str]]:
    database_url, keystore_url = f"sqlite:///{tmp / 'bench.db'}", f"sqlite:///{tmp / 'keys.db'}"
    migrate_database(database_url, keystore_url)
    keys_env = production_secrets()
    email = seed_ours(database_url, keystore_url, tmp / "seed", keys_env)
    os.environ.update({
        "TRUSTCENTER_ENV": "production", "TRUSTCENTER_SITE_URL": SITE,
        "TRUSTCENTER_SECRET_KEY": secrets.token_urlsafe(48), "TRUSTCENTER_DATABASE_URL": database_url,
        "TRUSTCENTER_KEYSTORE_URL": keystore_url, "TRUSTCENTER_INSTANCE_PATH": str(tmp / "instance"),
    })
    from trustcenter import create_app

    client = create_app().test_client()
    page = client.get("/account/login", base_url=SITE).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/account/login", base_url=SITE, headers={"Referer": SITE + "/account/login"},
                data={"email": email, "password": PASSWORD, "csrf_token": token})
    return client, {"base_url": SITE}


def reference_client(tmp: Path) -> tuple[FlaskClient, dict[str, str]]:
    os.environ["BENCH_REFERENCE_KEY"] = secrets.token_bytes(32).hex()
    from benchmarks.team_reference_app import create_app, seed

    app = create_app(f"sqlite:///{tmp / 'reference.db'}")
    people = [("Ada Admin", "admin@bench.example", "Customer administrator", "active")] + [
        (f"Colleague{n} Surname{n}", f"colleague{n}@bench.example", "Customer member", "active") for n in range(49)]
    seed(app, ORGANISATION, people)
    client = app.test_client()
    client.post("/login", data={"user_id": "1"})
    return client, {}


def count(which: str, requests: int) -> None:
    """Inside valgrind: build the app, warm up, then run the counted requests."""
    with tempfile.TemporaryDirectory() as tmp:
        client, options = (our_client if which == "ours" else reference_client)(Path(tmp))
        page = client.get(TEAM, **options).get_data(as_text=True)
        if len(ROW.findall(page)) != 50:
            raise SystemExit(f"{which}: the team page does not list 50 people")
        for _ in range(WARM_UP):
            client.get(TEAM, **options)

        def counted() -> None:
            for _ in range(requests):
                client.get(TEAM, **options)

        operator.call(counted)


def measure(which: str, requests: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        argv = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=_operator_call",
                f"--callgrind-out-file={out}/callgrind.out", sys.executable, __file__,
                "--inside", which, "--requests", str(requests)]
        done = subprocess.run(argv, capture_output=True, text=True, check=False,
                              env=os.environ | {"PYTHONHASHSEED": "0"})
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or not found:
            raise SystemExit(f"valgrind failed for {which}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return int(found.group(1)) / requests / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--inside", choices=("ours", "reference"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        count(args.inside, args.requests)
        return 0
    if shutil.which("valgrind") is None:
        print("error: valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    ours, reference = measure("ours", args.requests), measure("reference", args.requests)
    print(f"ours       {ours:7.2f} M instructions per request")
    print(f"reference  {reference:7.2f} M instructions per request")
    print(f"reference / ours = {reference / ours:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
