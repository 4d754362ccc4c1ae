"""Exports: the worker's build of an organisation with 10,000 request messages, and a 200 MB download's memory.

    .venv/bin/python benchmarks/exports.py            # both targets on SQLite and PostgreSQL
    .venv/bin/python benchmarks/exports.py --quick    # smaller sizes, to check the script in a minute

The targets:

1. An organisation whose people's requests hold 10,000 messages in all exports in at most 2 s. Timed is
   what the worker task `exports.tasks.build_one` does: `service.claim_next` and `service.build`, in an
   application context, with `tasks.render_index` rendering the page for people. The key cache is emptied
   before each build: a worker meets an organisation's keys after their 60 s in the cache ran out.
2. The download of a 200 MB export peaks under 50 MB of memory: `GET /account/exports/<id>/download`
   through Flask's test client (`buffered=False`), signed in as the exported person through the login
   form, the response consumed piece by piece. Measured in a fresh process per case: the growth of the
   peak resident memory (VmHWM, reset just before) over the resident memory before the request, and
   tracemalloc's peak in a second run.

Seeding goes through the app: organisations and people through `accounts.service`, each request filed
with `requests.service.file_request` (a data key of its own), a message from the requester and a reply
from staff through `post_message` (every fourth with a PDF attached), three of four requests closed
through `close`; the other messages are `RequestEvent` rows added with `session.add_all` and one commit,
so the ORM seals every body (100 to 300 characters) at the flush. Each person has ten sign-ins in the
audit log. The download's export is an `Export` row, ready, with pieces of 1 MB of random bytes, each
sealed through the ORM under the export's own data key, as `build` stores them.

Baselines, measured in the same run: for the build, `json.dumps` of the same data and a deflated ZIP of
it in memory (no database, no keys), and reading the same message rows without opening them; for the
download, iterating the same number of bytes from a generator in a fresh process without the app. The
script prints the stages of each build (collect, the progress commits, the page for people, writing the
files and the ZIP, sealing and storing the pieces, the rest) so a slow one shows.

Each build starts with an empty key cache, as a worker meets an organisation's keys after their time
in the cache has run out; `--warm-keys` also builds with every key already cached, interleaved, and both
variants must collect the same requests and messages.

SQLite lives in a temporary folder; PostgreSQL gets the scratch databases `bench_exports` and
`bench_exports_keys` next to `--admin-url`, dropped at the end unless `--keep` is given. Exits 0 whatever
the figures: they are reported, not asserted; 2 when a check fails (a download that differs from the
stored export, a build that fails).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import io
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Self

from sqlalchemy import event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import cpu_model, git_revision, wait_for_idle
from benchmarks.seed_requests import ANSWERS, Scratch

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATABASE = "bench_exports"
SECRET = "x" * 40
PASSWORD = "correct horse battery staple"
TARGET_BUILD_SECONDS = 2.0
TARGET_DOWNLOAD_MB = 50.0
MB = 1024 * 1024
WORDS = ("the", "request", "data", "account", "please", "confirm", "address", "invoice", "records", "we",
         "have", "checked", "your", "systems", "copy", "attached", "thank", "you", "for", "waiting", "our",
         "team", "will", "reply", "within", "days", "identity", "document", "erasure", "backup", "logs",
         "sign-in", "history", "customer", "contract", "processor", "controller", "retention", "period")
STAGES = ("claim", "collect", "progress commits", "index.html", "files and ZIP", "seal and store", "rest")


@dataclass(frozen=True)
class Sizes:
    people: int
    requests_per_person: int
    messages: int  # visible messages in all, besides the state events
    sign_ins: int  # per person, in the audit log
    attachment_kb: int
    rounds: int
    download_mb: int


FULL = Sizes(people=50, requests_per_person=4, messages=10_000, sign_ins=10, attachment_kb=200, rounds=5,
             download_mb=200)
QUICK = Sizes(people=10, requests_per_person=2, messages=1_000, sign_ins=3, attachment_kb=50, rounds=2,
              download_mb=20)


# --------------------------------------------------------------------------- databases and the app

@dataclass
class Backend:
    """One store: its database and key store URLs, and the folder with the root keys."""

    name: str
    url: str
    keystore_url: str
    instance: Path
    folder: Path  # removed at the end: the SQLite files, the root keys
    scratch: Scratch | None = None

    def config(self) -> dict[str, Any]:
        return {"ENV": "testing", "SECRET_KEY": SECRET, "DATABASE_URL": self.url, "KEYSTORE_URL": self.keystore_url,
                "INSTANCE_PATH": str(self.instance), "KEY_CACHE_SECONDS": 60, "MAIL_WORKER_THREAD": False}

    def drop(self) -> None:
        if self.scratch is not None:
            self.scratch.drop()
        shutil.rmtree(self.folder, ignore_errors=True)


def sqlite_backend() -> Backend:
    folder = Path(tempfile.mkdtemp(prefix="trustcenter-bench-exports-"))
    return Backend("SQLite", f"sqlite:///{folder / 'data.db'}", f"sqlite:///{folder / 'keys.db'}", folder / "instance",
                   folder)


def postgresql_backend(admin_url: str, database: str) -> Backend:
    instance = Path(tempfile.mkdtemp(prefix="trustcenter-bench-exports-pg-"))
    scratch = Scratch(admin_url, database, instance)
    scratch.drop()
    scratch.create()
    return Backend("PostgreSQL", scratch.url(), scratch.url(keystore=True), instance, instance, scratch)


def migrate(backend: Backend) -> None:
    """What tests/conftest.py does: the key store, then the main database."""
    from trustcenter import migrate as migrations
    from trustcenter.db import make_engine

    engine, keystore = make_engine(backend.url), make_engine(backend.keystore_url)
    try:
        migrations.upgrade_keystore(keystore)
        migrations.upgrade(engine)
    finally:
        engine.dispose()
        keystore.dispose()


def make_app(backend: Backend):
    from trustcenter import create_app

    return create_app(backend.config())


def close_app(app: Any) -> None:
    from trustcenter.extensions import db

    app.extensions["mail_worker"].stop()
    with app.app_context():
        db.engine.dispose()
    app.extensions["keys"].engine.dispose()


@contextmanager
def app_session(app: Any) -> Iterator[Any]:
    from trustcenter.extensions import session_factory

    session = session_factory(app)()
    try:
        yield session
    finally:
        session.close()


# --------------------------------------------------------------------------- seeding

def message_text(rng: random.Random) -> str:
    """A message of 100 to 300 characters."""
    length = rng.randint(100, 300)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:length - 1].capitalize() + "."


def pdf_bytes(size: int, rng: random.Random) -> bytes:
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    return head + rng.randbytes(max(0, size - len(head) - 6)) + b"\n%%EOF"


@dataclass
class Organisation:
    org_id: str
    admin_id: str
    admin_email: str
    people: int = 0
    requests: int = 0
    messages: int = 0
    attachments: int = 0
    events: int = 0


def seed_organisation(app: Any, sizes: Sizes, seed: int = 20250101) -> Organisation:
    """A customer with `sizes.people` people and their requests, `sizes.messages` messages in all."""
    from trustcenter.accounts import service as accounts
    from trustcenter.accounts.models import PROVIDER
    from trustcenter.requests import service as requests

    rng = random.Random(seed)
    started = time.perf_counter()
    with app.app_context(), app_session(app) as session:
        provider = accounts.create_organisation(session, "Benchmark Trust Services Ltd", PROVIDER)
        staff = requests.Viewer(accounts.create_user(session, provider, "staff@benchmark-trust.example", "staff",
                                                     first_name="Sam", last_name="Staff"), "198.51.100.7")
        org = accounts.create_organisation(session, "Benchmark Customer Ltd")
        people = seed_people(session, org, sizes)
        found = Organisation(org.id, people[0].id, people[0].email or "", len(people))
        print(f"  {sizes.people} people with {sizes.sign_ins} sign-ins each ({time.perf_counter() - started:.1f} s)",
              flush=True)
        filed = file_requests(app, session, people, staff, sizes, rng)
        found.requests, found.attachments = len(filed), (len(filed) + 3) // 4
        print(f"  {len(filed)} requests filed, two messages each through the service "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
        bulk = add_messages(session, filed, staff, sizes.messages - 2 * len(filed), rng)
        print(f"  {bulk:,} more messages added in bulk ({time.perf_counter() - started:.1f} s)", flush=True)
        for number, (request, _person, when) in enumerate(filed):
            if number % 4 != 3:
                requests.close(session, staff, request, requests.State.COMPLETED,
                               "Done: the copy you asked for is on this page.", now=when + dt.timedelta(days=30))
        found.messages = sizes.messages
        found.events = session.scalar(text(
            "SELECT count(*) FROM request_events e JOIN rights_requests r ON r.id = e.request_id "
            "WHERE r.org_id = :org"), {"org": org.id})
    print(f"  seeded in {time.perf_counter() - started:.1f} s: {found.requests} requests, {found.messages:,} "
          f"messages, {found.events:,} events in all, {found.attachments} attachments of {sizes.attachment_kb} KB",
          flush=True)
    return found


def seed_people(session: Any, org: Any, sizes: Sizes) -> list[Any]:
    """The administrator (who signs in) and members, with their sign-ins in the audit log."""
    from trustcenter.accounts import service as accounts
    from trustcenter.audit import service as audit

    people = [accounts.create_user(
        session, org, f"person{n}@customer.example", "customer_admin" if n == 0 else "customer_member",
        password=PASSWORD if n == 0 else None, first_name=f"Given{n}", last_name=f"Family{n}",
        username=f"person{n}", country="GB", timezone="Europe/London", company_name="Benchmark Customer Ltd",
        address=f"{n + 1} Example Street, Leeds LS1 4AP") for n in range(sizes.people)]
    session.commit()
    for person in people:
        for day in range(sizes.sign_ins):
            audit.record(session, "login.success", actor_id=person.id, actor_label=person.role,
                         subject_type="user", subject_id=person.id, org_id=org.id, ip=f"203.0.113.{day + 1}")
    session.commit()
    return people


def file_requests(app: Any, session: Any, people: list[Any], staff: Any, sizes: Sizes,
                  rng: random.Random) -> list[tuple[Any, Any, dt.datetime]]:
    """Each person's requests, filed in the past, each with a message (every fourth with a PDF) and a reply."""
    from trustcenter.requests import service as requests
    from trustcenter.requests.models import Kind

    clock = requests.Clock(app.config["WORKING_CALENDAR"], app.config["TIMEZONE"])
    inbox = "dpo@benchmark-trust.example"
    kinds, now, filed = list(ANSWERS), dt.datetime.now(dt.UTC), []
    for p, person in enumerate(people):
        viewer = requests.Viewer(person, "203.0.113.10")
        for r in range(sizes.requests_per_person):
            kind = kinds[(p + r) % len(kinds)]
            when = now - dt.timedelta(days=rng.randint(60, 700), seconds=rng.randrange(86400))
            request = requests.file_request(session, viewer, Kind(kind), ANSWERS[kind], clock, send=quiet,
                                            staff_inbox=inbox, now=when)
            upload = requests.Upload(f"identity-{len(filed)}.pdf", pdf_bytes(sizes.attachment_kb * 1024, rng)) \
                if len(filed) % 4 == 0 else None
            requests.post_message(session, viewer, request, message_text(rng), quiet, clock, inbox, attachment=upload)
            requests.post_message(session, staff, request, message_text(rng), quiet, clock, inbox)
            filed.append((request, person, when))
    return filed


def add_messages(session: Any, filed: list[tuple[Any, Any, dt.datetime]], staff: Any, count: int,
                 rng: random.Random) -> int:
    """`count` more messages over the requests, from the requester or staff, added in bulk (one commit)."""
    from trustcenter.requests.models import RequestEvent

    events = []
    for number in range(count):
        request, person, when = filed[number % len(filed)]
        from_requester = rng.random() < 0.5
        events.append(RequestEvent(
            request_id=request.id, data_key_id=request.data_key_id, kind="message", visible_to_requester=True,
            at=when + dt.timedelta(minutes=rng.randrange(60 * 24 * 50)),
            actor_id=person.id if from_requester else staff.user_id,
            actor_label="requester" if from_requester else "staff", body=message_text(rng)))
    session.add_all(events)
    session.commit()
    return count


def quiet(*_args: Any, **_kwargs: Any) -> None:
    """The mailer the seeding passes: mail is not what is measured."""


# --------------------------------------------------------------------------- target 1: the build

@dataclass
class Build:
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    total: float = 0.0
    cpu: float = 0.0  # this process only (the PostgreSQL server's time is not in it)
    statements: int = 0
    keystore_statements: int = 0
    size: int = 0
    pieces: int = 0


class Instrumented:
    """Times `build`'s stages by wrapping the module functions it calls; the code itself is unchanged."""

    def __init__(self) -> None:
        from trustcenter.exports import archive, collect, service

        self.archive, self.collect, self.service = archive, collect, service
        self.current: Build | None = None
        self.data: dict[str, Any] | None = None
        self.saved: dict[str, Any] = {}

    def timed(self, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                if self.current is not None:
                    self.current.stages[stage] += time.perf_counter() - started
        return wrapper

    def __enter__(self) -> Self:
        archive, collect, service = self.archive, self.collect, self.service
        self.saved = {"collect": collect.collect, "progress": service._progress, "write": archive.write_archive,
                      "sink": archive.ChunkSink}

        def keep(*args: Any, **kwargs: Any) -> dict[str, Any]:
            self.data = self.saved["collect"](*args, **kwargs)
            return self.data

        collect.collect = self.timed("collect", keep)
        service._progress = self.timed("progress commits", lambda *a, **k: self.saved["progress"](*a, **k))
        archive.write_archive = self.timed("files and ZIP", self.saved["write"])
        timed = self.timed

        class TimedSink(self.saved["sink"]):  # type: ignore[misc, valid-type]
            def __init__(self, store: Callable[[int, bytes], None]) -> None:
                super().__init__(timed("seal and store", store))

        archive.ChunkSink = TimedSink
        return self

    def __exit__(self, *exc: object) -> None:
        self.collect.collect = self.saved["collect"]
        self.service._progress = self.saved["progress"]
        self.archive.write_archive = self.saved["write"]
        self.archive.ChunkSink = self.saved["sink"]


@contextmanager
def counted(engine: Any) -> Iterator[list[int]]:
    count = [0]

    def one(*_args: Any) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", one)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", one)


def build_once(app: Any, org: Organisation, tools: Instrumented, cold_keys: bool = True) -> Build:
    """Queue an organisation export as its administrator asks for one, then build it as the worker does."""
    from trustcenter.accounts.models import User
    from trustcenter.exports import models, service, tasks
    from trustcenter.exports.about import about
    from trustcenter.extensions import db
    from trustcenter.faq.current import current_content

    with app_session(app) as session:
        admin = session.get(User, org.admin_id)
        service.request_export(session, service.Actor(admin, "203.0.113.10"), models.ORGANISATION)
    keys = app.extensions["keys"]
    if cold_keys:
        keys.forget()
    else:
        warm_keys(app, org)
    result = Build()
    tools.current = result
    with app.app_context():
        engine = db.engine
        gc.collect()
        with counted(engine) as statements, counted(keys.engine) as keystore:
            started, cpu = time.perf_counter(), time.process_time()
            session = db.session()
            export = service.claim_next(session, "benchmark")
            result.stages["claim"] = time.perf_counter() - started
            if export is None:
                raise SystemExit("the export was not claimed")
            content = current_content()
            render = tools.timed("index.html", tasks.render_index)
            service.build(session, export, render, about(content.site, content.version), content.version,
                          days=app.config["EXPORT_DAYS"])
            result.total, result.cpu = time.perf_counter() - started, time.process_time() - cpu
        result.statements, result.keystore_statements = statements[0], keystore[0]
        done = session.get(models.Export, export.id)
        if done is None or done.state != models.READY:
            print(f"the export did not build: {done.state if done else 'gone'}", file=sys.stderr)
            raise SystemExit(2)
        result.size, result.pieces = done.size, done.chunks
    tools.current = None
    # The pieces are sealed and stored while the ZIP is written, and the progress commits happen while
    # collecting: each is taken out of the stage it happens in.
    result.stages["files and ZIP"] -= result.stages["seal and store"]
    result.stages["collect"] -= result.stages["progress commits"]
    result.stages["rest"] = result.total - sum(v for k, v in result.stages.items() if k != "rest")
    return result


def warm_keys(app: Any, org: Organisation) -> None:
    """Unwrap every data key the build opens values with, as a build within the cache's 60 s would find them."""
    keys = app.extensions["keys"]
    with app_session(app) as session:
        found = session.scalars(text(
            "SELECT data_key_id FROM users WHERE org_id = :org UNION SELECT r.data_key_id FROM rights_requests r "
            "JOIN users u ON u.id = r.requester_id WHERE u.org_id = :org UNION SELECT DISTINCT data_key_id "
            "FROM audit_entries"), {"org": org.org_id}).all()
    for key_id in found:
        keys.data_aead(key_id)


def zip_baseline(data: dict[str, Any]) -> tuple[float, int]:
    """json.dumps of the same data and a deflated ZIP of it in memory: no database, no keys."""
    started = time.perf_counter()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2).encode())
    return time.perf_counter() - started, buffer.tell()


def rows_baseline(app: Any, org: Organisation) -> tuple[float, int]:
    """Reading the organisation's request events, sealed bodies and all, without opening them."""
    from trustcenter.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        started = time.perf_counter()
        rows = connection.execute(text(
            "SELECT e.* FROM request_events e JOIN rights_requests r ON r.id = e.request_id "
            "JOIN users u ON u.id = r.requester_id WHERE u.org_id = :org ORDER BY e.at"), {"org": org.org_id}).all()
        return time.perf_counter() - started, len(rows)


@dataclass(frozen=True)
class Variant:
    label: str
    cold_keys: bool = True


def variants(warm_keys_too: bool) -> list[Variant]:
    """The code as it runs (a cold key cache, as a worker meets an organisation's keys), and with a warm one."""
    return [Variant("as is")] + ([Variant("warm key cache", cold_keys=False)] if warm_keys_too else [])


def measure_build(backend: Backend, sizes: Sizes, idle: float, warm_keys_too: bool) -> dict[str, Any]:
    print(f"\n[{backend.name}] build: seeding an organisation", flush=True)
    app = make_app(backend)
    try:
        org = seed_organisation(app, sizes)
        tried = variants(warm_keys_too)
        builds: dict[str, list[Build]] = {v.label: [] for v in tried}
        zips, reads = [], []
        reference: list[Any] = []
        with Instrumented() as tools:
            for number in range(sizes.rounds + 1):  # round 0 warms imports and templates; not counted
                wait_for_idle(idle)
                for variant in tried[number % len(tried):] + tried[:number % len(tried)]:
                    build = build_once(app, org, tools, variant.cold_keys)
                    assert tools.data is not None
                    requests_block = [(p["id"], p["requests"]) for p in tools.data["people"]]
                    reference = reference or requests_block
                    if requests_block != reference:
                        print(f"{variant.label} collected other requests and messages", file=sys.stderr)
                        raise SystemExit(2)
                    label = "warm-up" if number == 0 else f"round {number}/{sizes.rounds}"
                    print(f"  {label} {variant.label}: {build.total:.3f} s, CPU {build.cpu:.3f} s "
                          f"({build.size / MB:.1f} MB in {build.pieces} pieces, {build.statements} statements, "
                          f"{build.keystore_statements} on the key store)", flush=True)
                    if number and variant.label == "as is":
                        zips.append(zip_baseline(tools.data))
                        reads.append(rows_baseline(app, org))
                    if number:
                        builds[variant.label].append(build)
        return {"backend": backend.name, "org": org, "builds": builds, "zip": zips, "rows": reads}
    finally:
        close_app(app)


def report_build(result: dict[str, Any]) -> None:
    org: Organisation = result["org"]
    builds: list[Build] = result["builds"]["as is"]
    total = statistics.median(b.total for b in builds)
    zipped = statistics.median(seconds for seconds, _ in result["zip"])
    rows = statistics.median(seconds for seconds, _ in result["rows"])
    print(f"\n{result['backend']}: organisation export of {org.people} people, {org.requests} requests, "
          f"{org.messages:,} messages ({org.events:,} events), {org.attachments} attachments; "
          f"{builds[0].size / MB:.1f} MB ZIP; {builds[0].statements} statements "
          f"(+{builds[0].keystore_statements} on the key store)")
    print(f"{'stage':<22}{'median s':>10}   rounds (s)")
    for stage in STAGES:
        values = [b.stages[stage] for b in builds]
        print(f"{stage:<22}{statistics.median(values):>10.3f}   " + "  ".join(f"{v:.3f}" for v in values))
    print(f"{'total':<22}{total:>10.3f}   " + "  ".join(f"{b.total:.3f}" for b in builds))
    print(f"{'CPU of this process':<22}{statistics.median(b.cpu for b in builds):>10.3f}   "
          + "  ".join(f"{b.cpu:.3f}" for b in builds))
    print(f"baseline: json.dumps + ZIP of the same data in memory {zipped:.3f} s "
          f"({result['zip'][0][1] / MB:.1f} MB); build / baseline = {total / zipped:.1f}")
    print(f"baseline: reading the {result['rows'][0][1]:,} event rows without opening them {rows:.3f} s; "
          f"build / rows = {total / rows:.0f}")
    verdict = "MEETS" if total <= TARGET_BUILD_SECONDS else "MISSES"
    print(f"median build {total:.2f} s {verdict} the target of at most {TARGET_BUILD_SECONDS:.0f} s "
          f"(slowest round {max(b.total for b in builds):.2f} s)")
    if len(result["builds"]) > 1:
        report_variants(result["builds"], total)


def report_variants(variants: dict[str, list[Build]], as_is: float) -> None:
    """Each variant's median and best round, and the median of each stage, which a change to one stage moves
    with less noise than the total."""
    short = {"collect": "collect", "progress commits": "progress", "index.html": "index", "files and ZIP": "files",
             "seal and store": "store"}
    print(f"\n{'variant':<32}{'median s':>9}{'/ as is':>8}{'best s':>8}{'CPU s':>7}"
          + "".join(f"{name:>9}" for name in short.values()) + f"{'SQL':>6}{'keys':>6}{'ZIP MB':>7}")
    for label, runs in variants.items():
        median = statistics.median(b.total for b in runs)
        print(f"{label:<32}{median:>9.3f}{median / as_is:>8.2f}{min(b.total for b in runs):>8.3f}"
              f"{statistics.median(b.cpu for b in runs):>7.3f}"
              + "".join(f"{statistics.median(b.stages[stage] for b in runs):>9.3f}" for stage in short)
              + f"{runs[0].statements:>6}{runs[0].keystore_statements:>6}{runs[0].size / MB:>7.2f}")


# --------------------------------------------------------------------------- target 2: the download

@dataclass
class StoredExport:
    export_id: str
    email: str
    size: int
    sha256: str


def seed_export(app: Any, megabytes: int) -> StoredExport:
    """A ready person's export of `megabytes` pieces of 1 MB random bytes, each sealed as `build` stores it."""
    from trustcenter.accounts import service as accounts
    from trustcenter.crypto import keys_of
    from trustcenter.db import utcnow
    from trustcenter.exports import service
    from trustcenter.exports.archive import CHUNK_BYTES
    from trustcenter.exports.models import PERSON, READY, Export, ExportChunk

    started = time.perf_counter()
    digest = hashlib.sha256()
    with app.app_context(), app_session(app) as session:
        org = accounts.create_organisation(session, "Download Customer Ltd")
        person = accounts.create_user(session, org, "downloader@customer.example", "customer_member",
                                      password=PASSWORD, first_name="Dana", last_name="Download")
        now = utcnow()
        export = Export(org_id=org.id, scope=PERSON, subject_id=person.id, requested_by=person.id, state=READY,
                        progress=100, step="Ready", size=0, chunks=0, created_at=now, finished_at=now,
                        expires_at=now + dt.timedelta(days=7),
                        data_key_id=keys_of(session).create_data_key(org.id, purpose=service.EXPORT_KEY_PURPOSE))
        session.add(export)
        session.commit()
        for seq in range(megabytes):
            piece = os.urandom(CHUNK_BYTES)
            digest.update(piece)
            chunk = ExportChunk(export_id=export.id, seq=seq, data_key_id=export.data_key_id, content=piece)
            session.add(chunk)
            session.flush()
            session.expunge(chunk)
            if (seq + 1) % 20 == 0 or seq + 1 == megabytes:
                session.commit()
                print(f"  {seq + 1:>4} of {megabytes} pieces stored ({time.perf_counter() - started:.1f} s)",
                      flush=True)
        export.size, export.chunks, export.sha256 = megabytes * CHUNK_BYTES, megabytes, digest.hexdigest()
        session.commit()
        return StoredExport(export.id, person.email or "", export.size, export.sha256 or "")


def memory_kb() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    return {name: int(re.search(rf"^{name}:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]
            for name in ("VmRSS", "VmHWM")}


def reset_peak() -> None:
    """Start VmHWM again from the current resident size (Linux 4.0 and later)."""
    Path("/proc/self/clear_refs").write_text("5")


def consume(pieces: Iterator[bytes], trace: bool) -> dict[str, Any]:
    """Hash every piece, sampling the resident size after each; VmHWM and tracemalloc give the peaks."""
    digest = hashlib.sha256()
    count = largest = 0
    sampled = 0
    for piece in pieces:
        digest.update(piece)
        count += len(piece)
        largest = max(largest, len(piece))
        sampled = max(sampled, memory_kb()["VmRSS"])
    return {"bytes": count, "sha256": digest.hexdigest(), "largest_piece": largest, "sampled_rss_kb": sampled,
            "traced_peak": tracemalloc.get_traced_memory()[1] if trace else None}


def sign_in(client: Any, email: str) -> None:
    page = client.get("/account/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    response = client.post("/account/login", data={"email": email, "password": PASSWORD,
                                                    "csrf_token": token.group(1)})
    if response.status_code != 303:
        raise SystemExit(f"signing in as {email} answered {response.status_code}")


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in this fresh process: the route, or the baseline generator."""
    trace, size = spec["trace"], spec["size"]
    if spec["mode"] == "route":
        backend = Backend(spec["backend"], spec["url"], spec["keystore_url"], Path(spec["instance"]),
                          Path(spec["instance"]))
        app = make_app(backend)
        client = app.test_client()
        sign_in(client, spec["email"])
        client.get("/account/exports")  # the pages' code and templates loaded, as in a running server

        def pieces() -> Iterator[bytes]:
            response = client.get(f"/account/exports/{spec['export_id']}/download", buffered=False)
            if response.status_code != 200:
                raise SystemExit(f"the download answered {response.status_code}")
            try:
                yield from response.response
            finally:
                response.close()
    else:
        def pieces() -> Iterator[bytes]:
            for _ in range(size // MB):
                yield os.urandom(MB)

    gc.collect()
    before = memory_kb()["VmRSS"]
    reset_peak()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    found = consume(pieces(), trace)
    found["seconds"] = time.perf_counter() - started
    if trace:
        tracemalloc.stop()
    found.update({"rss_before_kb": before, "peak_rss_kb": memory_kb()["VmHWM"]})
    if spec["mode"] == "route":
        close_app(app)
    return found


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                          check=False, cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
        raise SystemExit(2)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_download(backend: Backend, sizes: Sizes, idle: float) -> dict[str, Any]:
    print(f"\n[{backend.name}] download: storing a {sizes.download_mb} MB export", flush=True)
    app = make_app(backend)
    try:
        stored = seed_export(app, sizes.download_mb)
    finally:
        close_app(app)
    spec = {"backend": backend.name, "url": backend.url, "keystore_url": backend.keystore_url,
            "instance": str(backend.instance), "export_id": stored.export_id, "email": stored.email,
            "size": stored.size}
    runs: dict[str, dict[str, Any]] = {}
    for mode in ("route", "generator"):
        for trace in (False, True):
            wait_for_idle(idle)
            found = run_child({**spec, "mode": mode, "trace": trace})
            if found["bytes"] != stored.size or (mode == "route" and found["sha256"] != stored.sha256):
                print(f"the {mode} gave {found['bytes']:,} bytes, not the stored export's {stored.size:,}",
                      file=sys.stderr)
                raise SystemExit(2)
            runs[f"{mode}{' traced' if trace else ''}"] = found
            print(f"  {mode}{' with tracemalloc' if trace else ''}: {found['bytes'] / MB:.0f} MB in "
                  f"{found['seconds']:.2f} s, peak growth {(found['peak_rss_kb'] - found['rss_before_kb']) / 1024:.1f}"
                  f" MB" + (f", traced peak {found['traced_peak'] / MB:.1f} MB" if trace else ""), flush=True)
    return {"backend": backend.name, "size": stored.size, "runs": runs}


def report_download(result: dict[str, Any]) -> None:
    runs = result["runs"]
    print(f"\n{result['backend']}: download of a {result['size'] / MB:.0f} MB export, in a fresh process each")
    print(f"{'case':<22}{'seconds':>8}{'MB/s':>8}{'RSS before':>12}{'peak RSS':>10}{'growth':>8}"
          f"{'sampled':>9}{'traced peak':>13}   (MB)")
    for name in ("route", "generator"):
        plain, traced = runs[name], runs[f"{name} traced"]
        print(f"{name:<22}{plain['seconds']:>8.2f}{plain['bytes'] / MB / plain['seconds']:>8.0f}"
              f"{plain['rss_before_kb'] / 1024:>12.1f}{plain['peak_rss_kb'] / 1024:>10.1f}"
              f"{growth_mb(plain):>8.1f}{(plain['sampled_rss_kb'] - plain['rss_before_kb']) / 1024:>9.1f}"
              f"{traced['traced_peak'] / MB:>13.1f}")
    route, base = runs["route"], runs["generator"]
    traced = runs["route traced"]["traced_peak"] / runs["generator traced"]["traced_peak"]
    print(f"peak growth route / generator = {growth_mb(route) / max(growth_mb(base), 0.1):.1f}; "
          f"traced peak route / generator = {traced:.1f}")
    worst = max(growth_mb(route), runs["route traced"]["traced_peak"] / MB)
    verdict = "MEETS" if worst < TARGET_DOWNLOAD_MB else "MISSES"
    print(f"the download's peak ({worst:.1f} MB above the process at rest) {verdict} the target of under "
          f"{TARGET_DOWNLOAD_MB:.0f} MB; the whole process peaked at {route['peak_rss_kb'] / 1024:.0f} MB")


def growth_mb(run: dict[str, Any]) -> float:
    return (run["peak_rss_kb"] - run["rss_before_kb"]) / 1024


# --------------------------------------------------------------------------- the run

def print_environment(sizes: Sizes) -> None:
    versions = ", ".join(f"{name} {version_of(name)}" for name in ("Flask", "Werkzeug", "SQLAlchemy", "psycopg",
                                                                     "cryptography"))
    print(f"revision {git_revision()}; {os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}, "
          f"CPython {platform.python_version()}; {versions}")
    print(f"sizes: {sizes.people} people, {sizes.requests_per_person} requests each, {sizes.messages:,} messages, "
          f"{sizes.rounds} rounds; a {sizes.download_mb} MB download")


def version_of(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: 1,000 messages, a 20 MB download")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--only", choices=("build", "download", "both"), default="both")
    parser.add_argument("--rounds", type=int, help="timed builds per store [5; 2 with --quick]")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to create the scratch ones "
                                                               "from [TEST_DATABASE_URL, else postgres on 127.0.0.1]")
    parser.add_argument("--database", default=DATABASE, help="scratch database name (the key store adds _keys)")
    parser.add_argument("--wait-for-idle", type=float, default=30, help="seconds to wait for a quiet machine [30]")
    parser.add_argument("--warm-keys", action="store_true",
                        help="also build with every key already in the cache, interleaved, to show what a cold "
                             "cache costs")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases and folders")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # so the scratch databases and folders are dropped on the way out


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = Sizes(**{**sizes.__dict__, "rounds": args.rounds})
    print_environment(sizes)
    results: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    for name in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
        backend = sqlite_backend() if name == "sqlite" else postgresql_backend(args.admin_url, args.database)
        try:
            migrate(backend)
            built = (measure_build(backend, sizes, args.wait_for_idle, args.warm_keys)
                     if args.only != "download" else None)
            fetched = measure_download(backend, sizes, args.wait_for_idle) if args.only != "build" else None
            results.append((built, fetched))
        finally:
            if args.keep:
                print(f"kept {backend.url}, {backend.keystore_url} and {backend.folder}")
            else:
                backend.drop()
    for built, fetched in results:
        if built:
            report_build(built)
        if fetched:
            report_download(fetched)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
