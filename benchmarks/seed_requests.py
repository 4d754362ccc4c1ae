"""Seed a scratch PostgreSQL database with a million rights requests for the staff queue benchmark.

    .venv/bin/python benchmarks/seed_requests.py [--rows 1000000] [--open-share 0.055] [--fresh]

Creates the databases `bench_requests` (the data) and `bench_requests_keys`
(the key store) next to the admin URL's database, migrates both with the
app's migrations, and creates a provider with its staff and 24 customers
with their people through `accounts.service`. One request of each kind is
filed through `requests.service.file_request` (the ORM seals it); the rest are
streamed in with COPY. Every row's personal values are sealed for that row
with the app's key service (the call the flush makes), under one of a few
request data keys of the provider (requests are its records), so any row
opens as the app would open it. A few of the newest requests from people
without an account are still unconfirmed (staff do not see those).

The rows spread over three years with intake growing over time; about 5.5%
are open (mostly the last two months, a few stale ones), so the open queue is
more than 1,000 pages of 50 deep. They are written in the order they were
received, as the table grows in use (`--order random` writes them shuffled:
the worst case for how many table pages a query touches). `requests_queue.py` measures the queue on
the result. The root keys live in a folder of their own (`--instance`); the
databases and that folder are reused by the benchmark and dropped by it
unless told to keep them. A database already seeded with as many rows is
kept unless `--fresh` is given.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import functools
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trustcenter.crypto.aead import Place

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = "bench_requests"
INSTANCE = Path(tempfile.gettempdir()) / "trustcenter-bench-requests"
SECRET = "benchmark-secret-key-for-the-request-queue-0123456789"
PROVIDER_NAME = "Benchmark Trust Services Ltd"
CUSTOMERS = 24
STAFF = 6  # besides one administrator and one DPO
REQUEST_DATA_KEYS = 16  # the app makes one per request; a few stand in for them
YEARS_DAYS = 3 * 365
PEOPLE_POOL = 300_000  # requesters without an account, by address
PROGRESS_EVERY = 100_000
KIND_SHARES = {"access": 30, "erasure": 25, "query": 15, "rectification": 10, "objection": 8,
               "portability": 7, "restriction": 5}
# Where open requests stand by age in days (up to): new ones wait to be triaged, older ones are being worked on.
OPEN_SHARES_BY_AGE = (
    (2, {"submitted": 70, "acknowledged": 30}),
    (10, {"submitted": 15, "acknowledged": 40, "in_progress": 35, "awaiting_requester": 10}),
    (YEARS_DAYS, {"acknowledged": 15, "in_progress": 60, "awaiting_requester": 25}),
)
# How likely a request in that state has someone assigned; closed ones nearly always do.
ASSIGNED = {"submitted": 0.15, "acknowledged": 0.6, "in_progress": 0.97, "awaiting_requester": 0.97,
            "unconfirmed": 0.0}
CLOSED_SHARES = {"completed": 80, "refused": 8, "withdrawn": 7, "referred": 5}
ANSWERS = {
    "query": {"question": "Which of your subprocessors store my data, and where?"},
    "access": {"scope": "Everything, including the logs of my sign-ins."},
    "rectification": {"field": "address", "correction": "12 Example Street, Leeds LS1 4AP"},
    "erasure": {"scope": "person", "note": "I have left the company; please erase my account."},
    "restriction": {"grounds": "accuracy", "note": "My address is wrong; stop using it until fixed."},
    "portability": {"note": "JSON is fine."},
    "objection": {"processing": "update_mail", "grounds": "I receive these as a former user."},
}
COLUMNS = ("id", "org_id", "requester_id", "data_key_id", "kind", "state", "requester_index", "fingerprint",
           "duplicate_of", "assignee_id", "referred_org_id", "received_at", "received_on", "due_on",
           "extension_months", "paused_days", "paused_since", "updated_at", "closed_at", "reminded_7_days",
           "reminded_1_day", "requester_email", "requester_name", "details", "outcome", "extension_reason")


@dataclass(frozen=True)
class Scratch:
    """The two scratch databases next to `admin_url`'s, and the folder holding their root keys."""

    admin_url: str
    name: str
    instance: Path

    def url(self, keystore: bool = False) -> str:
        database = f"{self.name}_keys" if keystore else self.name
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def conninfo(self) -> str:
        """The data database for psycopg itself."""
        return make_url(self.url()).set(drivername="postgresql").render_as_string(hide_password=False)

    def config(self) -> dict[str, Any]:
        return {"ENV": "testing", "SECRET_KEY": SECRET, "INSTANCE_PATH": str(self.instance),
                "DATABASE_URL": self.url(), "KEYSTORE_URL": self.url(keystore=True)}

    def _admin(self, sql: str) -> list[Any]:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                result = connection.execute(text(sql))
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()

    def exists(self) -> bool:
        names = {row[0] for row in self._admin("SELECT datname FROM pg_database")}
        return {self.name, f"{self.name}_keys"} <= names and (self.instance / "keys").is_dir()

    def create(self) -> None:
        for database in (self.name, f"{self.name}_keys"):
            self._admin(f'CREATE DATABASE "{database}"')

    def drop(self) -> None:
        for database in (self.name, f"{self.name}_keys"):
            self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(self.instance, ignore_errors=True)


def scratch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--admin-url", default=ADMIN_URL,
                        help="a PostgreSQL database to connect to while creating and dropping the scratch ones "
                             "[TEST_DATABASE_URL, else postgres on 127.0.0.1]")
    parser.add_argument("--database", default=DATABASE, help="scratch database name (the key store adds _keys)")
    parser.add_argument("--instance", type=Path, default=INSTANCE, help="folder for the root keys")


def build_app(scratch: Scratch):
    """The real app on the scratch databases (testing settings: development root keys in `instance`)."""
    from trustcenter import create_app

    return create_app(scratch.config())


def seeded_rows(scratch: Scratch) -> int:
    """How many requests the scratch database holds (0 when it has no schema yet)."""
    with psycopg.connect(scratch.conninfo()) as connection:
        if connection.execute("SELECT to_regclass('rights_requests')").fetchone()[0] is None:
            return 0
        return connection.execute("SELECT count(*) FROM rights_requests").fetchone()[0]


# --------------------------------------------------------------------------- accounts and templates

@dataclass
class Tenants:
    provider_id: str
    staff_ids: list[str]
    customer_ids: list[str]
    people: dict[str, list[tuple[str, str, str]]]  # org id -> (user id, e-mail address, its blind index)
    data_keys: list[str]  # request data keys, under the provider's tenant key


def create_tenants(session, keys) -> Tenants:
    """A provider with an administrator, a DPO and staff; customers with an administrator and two members."""
    from trustcenter.accounts import service
    from trustcenter.accounts.models import PROVIDER

    provider = service.create_organisation(session, PROVIDER_NAME, PROVIDER)
    roles = ["admin", "dpo"] + ["staff"] * STAFF
    staff = [service.create_user(session, provider, f"{role}{n}@benchmark-trust.example", role,
                                 first_name=f"{role.title()}", last_name=f"Person {n}")
             for n, role in enumerate(roles)]
    customers, people = [], {}
    for n in range(CUSTOMERS):
        org = service.create_organisation(session, f"Customer {n:02d} Ltd")
        members = [service.create_user(session, org, f"{role}{i}@customer{n:02d}.example", role,
                                       first_name="Customer", last_name=f"{n:02d} {role} {i}")
                   for i, role in enumerate(("customer_admin", "customer_member", "customer_member"))]
        customers.append(org.id)
        people[org.id] = [(u.id, u.email, u.email_index) for u in members]
    session.commit()
    data_keys = [keys.create_data_key(provider.id, purpose="request") for _ in range(REQUEST_DATA_KEYS)]
    return Tenants(provider.id, [u.id for u in staff], customers, people, data_keys)


def file_templates(session, tenants: Tenants) -> dict[str, dict[str, str]]:
    """One request of each kind filed as a customer would; returns each kind's answers as the app kept them."""
    from trustcenter.accounts.models import User
    from trustcenter.requests import service
    from trustcenter.requests.models import Kind

    requester = session.get(User, tenants.people[tenants.customer_ids[0]][0][0])
    viewer = service.Viewer(requester, "127.0.0.1")
    filed = {kind: service.file_request(session, viewer, Kind(kind), answers, service.Clock(),
                                        send=lambda *args, **kwargs: None, staff_inbox="dpo@benchmark-trust.example")
             for kind, answers in ANSWERS.items()}
    return {kind: request.details for kind, request in filed.items()}


# --------------------------------------------------------------------------- the rows

def weighted(shares: dict[str, int]) -> tuple[list[str], list[int]]:
    names = list(shares)
    return names, list(_cumulative([shares[name] for name in names]))


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def pick(rng: random.Random, table: tuple[list[Any], list[float]]) -> Any:
    names, cumulative = table
    return names[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def intake(age: int) -> float:
    """Requests received `age` days ago, relative: the service grew threefold over the three years."""
    return 1.5 - age / YEARS_DAYS


def open_weight(age: int) -> float:
    """How likely a request that old is still open, relative: most within two months, a few left stale."""
    return 1.0 if age <= 35 else 0.2 if age <= 120 else 0.004


def open_chances(share: float) -> list[float]:
    """Per age in days, the chance of being open, scaled so that `share` of all requests are open."""
    ages = range(YEARS_DAYS + 1)
    total = sum(intake(a) for a in ages)

    def expected(scale: float) -> float:
        return sum(intake(a) * min(0.95, scale * open_weight(a)) for a in ages) / total

    low, high = 0.0, 1000.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if expected(middle) < share else (low, middle)
    return [min(0.95, high * open_weight(a)) for a in ages]


@functools.cache
def due(received_on: dt.date, extension_months: int, paused_days: int) -> dt.date:
    from trustcenter.requests import clock

    return clock.due_date(received_on, extension_months=extension_months, paused_days=paused_days)


class RowMaker:
    """Rows of `rights_requests` in COPY order, every personal value sealed for its row."""

    def __init__(self, keys, tenants: Tenants, details: dict[str, dict[str, str]], today: dt.date,
                 open_share: float, seed: int) -> None:
        self.keys, self.tenants, self.today = keys, tenants, today
        self.rng = random.Random(seed)
        self.ages = (list(range(YEARS_DAYS + 1)), list(_cumulative([intake(a) for a in range(YEARS_DAYS + 1)])))
        self.chances = open_chances(open_share)
        self.kinds, self.closed_states = weighted(KIND_SHARES), weighted(CLOSED_SHARES)
        self.open_states = [(days, weighted(shares)) for days, shares in OPEN_SHARES_BY_AGE]
        # Customers by size (1/k), the provider's own share for people without an account.
        orgs = tenants.customer_ids + [tenants.provider_id]
        self.orgs = (orgs, list(_cumulative([1 / (k + 1) for k in range(len(tenants.customer_ids))] + [1.2])))
        self.details = {kind: json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
                        for kind, value in details.items()}
        self.fingerprints = {kind: keys.blind_index(json.dumps([kind, value], sort_keys=True))
                             for kind, value in details.items()}
        self.indexes: dict[int, str] = {}
        self.previous_id: str | None = None

    def seal(self, value: bytes, key_id: str, row_id: str, column: str) -> bytes:
        return self.keys.seal(value, key_id, Place("rights_requests", column, row_id))

    def requester(self, org_id: str) -> tuple[str | None, str, str, str]:
        """(user id, e-mail address, its blind index, name): a customer's person, or someone without an account."""
        people = self.tenants.people.get(org_id)
        if people and self.rng.random() < 0.4:
            user_id, email, index = self.rng.choice(people)
            return user_id, email, index, f"Customer person {email.split('@')[0]}"
        number = self.rng.randrange(PEOPLE_POOL)
        email = f"person{number}@example.net"
        index = self.indexes.get(number) or self.indexes.setdefault(number, self.keys.blind_index(email))
        return None, email, index, f"Person {number}"

    def ages_of(self, count: int, order: str) -> list[int]:
        """How many days ago each of `count` requests was received, oldest first unless `order` is random."""
        ages = [pick(self.rng, self.ages) for _ in range(count)]
        return ages if order == "random" else sorted(ages, reverse=True)

    def row(self, age: int) -> tuple[Any, ...]:
        rng = self.rng
        row_id, kind, org_id = str(uuid.uuid4()), pick(rng, self.kinds), pick(rng, self.orgs)
        requester_id, email, index, name = self.requester(org_id)
        is_open = rng.random() < self.chances[age]
        state = pick(rng, next(table for days, table in self.open_states if age <= days) if is_open
                     else self.closed_states)
        if age == 0 and requester_id is None and rng.random() < 0.2:
            is_open, state = True, "unconfirmed"  # filed today, the mailed link not followed yet
        received_on = self.today - dt.timedelta(days=age)
        received_at = dt.datetime.combine(received_on, dt.time(8), dt.UTC) + dt.timedelta(
            seconds=rng.randrange(10 * 3600))
        extension = rng.choice((1, 2)) if rng.random() < 0.03 else 0
        waiting = state == "awaiting_requester"
        paused_since = received_on + dt.timedelta(days=rng.randrange(age + 1)) if waiting else None
        paused_days = rng.randrange(1, 15) if rng.random() < 0.1 else 0
        due_on = due(received_on, extension, paused_days)
        closed_at = None if is_open else received_at + dt.timedelta(days=rng.randrange(min(age, 40) + 1),
                                                                      seconds=rng.randrange(3600))
        until = closed_at.date() if closed_at else self.today
        key_id = rng.choice(self.tenants.data_keys)
        assigned = rng.random() < ASSIGNED.get(state, 0.97)
        duplicate_of = self.previous_id if rng.random() < 0.003 else None
        self.previous_id = row_id
        outcome = {"completed": b"Done: what you asked for is attached.",
                   "refused": b"Refused: we hold no personal data about this address."}.get(state)
        return (
            row_id, org_id, requester_id, key_id, kind, state, index, self.fingerprints[kind], duplicate_of,
            rng.choice(self.tenants.staff_ids) if assigned else None,
            rng.choice(self.tenants.customer_ids) if state == "referred" else None,
            received_at, received_on, due_on, extension, paused_days, paused_since,
            closed_at or received_at + dt.timedelta(hours=rng.randrange(1, 72)), closed_at,
            due_on - dt.timedelta(days=7) <= until, due_on - dt.timedelta(days=1) <= until,  # reminded
            self.seal(email.encode(), key_id, row_id, "requester_email"),
            self.seal(name.encode(), key_id, row_id, "requester_name"),
            self.seal(self.details[kind], key_id, row_id, "details"),
            self.seal(outcome, key_id, row_id, "outcome") if outcome else None,
            self.seal(b"The request covers several systems.", key_id, row_id, "extension_reason")
            if extension else None,
        )


def copy_rows(scratch: Scratch, maker: RowMaker, count: int, order: str) -> None:
    """Stream `count` rows with COPY (binary), printing progress."""
    started = time.perf_counter()
    ages = maker.ages_of(count, order)
    with psycopg.connect(scratch.conninfo()) as connection, connection.cursor() as cursor:
        types = [row[0] for row in cursor.execute(
            "SELECT a.atttypid::int FROM unnest(%s::text[]) WITH ORDINALITY AS c(name, n) "
            "JOIN pg_attribute a ON a.attrelid = 'rights_requests'::regclass AND a.attname = c.name ORDER BY n",
            [list(COLUMNS)])]
        with cursor.copy(f"COPY rights_requests ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for n, age in enumerate(ages, 1):
                copy.write_row(maker.row(age))
                if n % PROGRESS_EVERY == 0 or n == count:
                    elapsed = time.perf_counter() - started
                    print(f"  {n:>10,} copied  {elapsed:7.1f} s  {n / elapsed:8,.0f} rows/s", flush=True)
    print(f"COPY finished in {time.perf_counter() - started:.1f} s")


def analyze(scratch: Scratch) -> None:
    started = time.perf_counter()
    with psycopg.connect(scratch.conninfo(), autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) rights_requests")
        size = connection.execute("SELECT pg_size_pretty(pg_total_relation_size('rights_requests'))").fetchone()[0]
    print(f"VACUUM (ANALYZE) in {time.perf_counter() - started:.1f} s; rights_requests with indexes: {size}")


def check_some_rows(session, sample: int = 20) -> None:
    """Open every value of a few random rows through the ORM: the copied ciphertexts are the app's own."""
    from sqlalchemy import func, select

    from trustcenter.requests.models import RightsRequest

    rows = session.scalars(select(RightsRequest).order_by(func.random()).limit(sample)).all()
    for row in rows:
        _ = (row.requester_email, row.requester_name, row.details, row.outcome, row.extension_reason)
    print(f"opened every sealed value of {len(rows)} random rows through the ORM")


def describe(scratch: Scratch) -> None:
    with psycopg.connect(scratch.conninfo()) as connection:
        counts = dict(connection.execute(
            "SELECT CASE WHEN state IN ('submitted', 'acknowledged', 'in_progress', 'awaiting_requester') THEN 'open' "
            "WHEN state = 'unconfirmed' THEN 'unconfirmed' ELSE 'closed' END, count(*) "
            "FROM rights_requests GROUP BY 1").fetchall())
    print(f"{counts.get('open', 0):,} open, {counts.get('closed', 0):,} closed and {counts.get('unconfirmed', 0):,} "
          f"unconfirmed requests ({counts.get('open', 0) / max(1, sum(counts.values())):.1%} open)")


def seed(scratch: Scratch, rows: int, open_share: float, seed_value: int, order: str) -> None:
    from trustcenter import migrate
    from trustcenter.extensions import db, session_factory
    from trustcenter.requests.service import Clock

    app = build_app(scratch)
    keys = app.extensions["keys"]
    try:
        with app.app_context():
            migrate.upgrade(db.engine, keys)
        session = session_factory(app)()
        tenants = create_tenants(session, keys)
        details = file_templates(session, tenants)
        session.commit()
        print(f"migrated; {1 + CUSTOMERS} organisations, {2 + STAFF + 3 * CUSTOMERS} people, "
              f"{len(details)} requests filed through the service; copying {rows:,} more")
        maker = RowMaker(keys, tenants, details, Clock().today(), open_share, seed_value)
        copy_rows(scratch, maker, rows - len(details), order)
        analyze(scratch)
        check_some_rows(session)
        session.close()
    finally:
        app.extensions["mail_worker"].stop()
        with app.app_context():
            db.engine.dispose()
        keys.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scratch_arguments(parser)
    parser.add_argument("--rows", type=int, default=1_000_000, help="requests in all [1,000,000]")
    parser.add_argument("--open-share", type=float, default=0.055, help="share of open requests [0.055]")
    parser.add_argument("--seed", type=int, default=20250101, help="random seed, for the same data every time")
    parser.add_argument("--order", choices=("received", "random"), default="received",
                        help="write the rows in the order received [received], or shuffled")
    parser.add_argument("--fresh", action="store_true", help="drop and reseed even when already seeded")
    args = parser.parse_args()
    scratch = Scratch(args.admin_url, args.database, args.instance)

    started = time.perf_counter()
    if scratch.exists() and not args.fresh and seeded_rows(scratch) == args.rows:
        print(f"{scratch.name} already holds {args.rows:,} requests; kept (--fresh to reseed)")
        describe(scratch)
        return 0
    scratch.drop()
    scratch.create()
    print(f"created {scratch.name} and {scratch.name}_keys; root keys in {scratch.instance}")
    seed(scratch, args.rows, args.open_share, args.seed, args.order)
    describe(scratch)
    print(f"seeded {args.rows:,} requests in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
