"""Breach notices: publishing a notice to 10,000 people, the worker's fan-out, and mails per second per worker.

    .venv/bin/python benchmarks/notices.py            # all three on SQLite and PostgreSQL
    .venv/bin/python benchmarks/notices.py --quick    # 1,000 people and 300 mails, to check the script

The targets:

1. Publishing a breach notice to 10,000 people takes at most 1 s: the Data Protection Officer's request
   returns, and delivery goes on in the worker. Timed twice. `service.publish` in an application context,
   with the incident and notice loaded through `incident_for` and `notice_for_staff` as the route loads
   them (not timed); and the whole `POST /staff/incidents/<id>/notices/<id>/publish` through Flask's test
   client, signed in as the DPO through the login form and its second factor (TOTP), the CSRF token taken
   from the incident page beforehand (not timed). The page the POST redirects to is timed on its own.
   Every round publishes a fresh "update" draft (`draft_notice` allows updates once the initial notice is
   published; round 0 publishes the initial one and is not counted). Baseline, in the same rounds: one
   trivial `UPDATE incidents SET updated_at = ...` and its commit, through the same session.
2. Mails delivered per second by one worker against a local SMTP server: `outbox.deliver_batch(
   session_factory(app), transport, worker_id, batch=20)` in a loop, as `run_worker` calls it, until a
   round's mails are sent (2,000 in four rounds; 300 in three with --quick). The server is
   `tests.smtp.SmtpServer` (aiosmtpd, parsing and keeping each message) on a free loopback port, in a
   process of its own by default so that it does not share this process's GIL (`--smtp-in-process`
   runs it in a thread here). `SmtpTransport` opens one connection per message. Baselines, in the same
   rounds and against the same server, with the messages that round delivered: `SmtpTransport.send`
   of the decrypted mails without the database; smtplib sending the already-built messages one
   connection per message (what `SmtpTransport` does on the wire); and smtplib sending them all over one
   connection.

Also measured, between the two: the worker's fan-out, `service.fan_out(session, worker_id, compose,
batch=500)` in an application context as `notices.tasks` calls it, which queues one mail and one receipt
per recipient in batches of 500 (reported as recipients per second). The key cache is emptied first
(`app.extensions["keys"].forget()`), as a worker meets the people's keys after their 60 s in the cache;
every recipient's address is sealed under their own data key. Baseline: inserting the same number of
plain rows of the same sizes (an outbox-like row and a receipt-like row per recipient, the same
subject, text and HTML) with executemany and a commit per 500, in scratch tables of the same database.
`--warm-keys` also fans out with every person's key already cached.

Seeding goes through the app: the provider organisation, a DPO (password and TOTP), one customer
organisation whose 10,000 people are made with `accounts.service.create_user` (each with a data key of
its own; a commit every 500), an incident for that organisation through `service.record_incident` and
an initial notice drafted through `service.draft_notice`.

SQLite lives in a temporary folder; PostgreSQL gets the scratch databases `bench_notices` and
`bench_notices_keys` next to `--admin-url`, dropped at the end unless `--keep` is given. Exits 0 whatever
the figures: they are reported, not asserted; 2 when a check fails (a publish that did not publish, a
fan-out that did not reach everyone, a server that did not receive every mail).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.exports import Backend, app_session, close_app, counted, migrate, version_of
from benchmarks.load import cpu_model, git_revision, wait_for_idle
from benchmarks.seed_requests import Scratch

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATABASE = "bench_notices"
PASSWORD = "correct horse battery staple"
DPO_EMAIL = "dpo@benchmark-trust.example"
IP = "198.51.100.7"
TARGET_PUBLISH_SECONDS = 1.0
FANOUT_BATCH = 500
DELIVERY_BATCH = 20
SEED_CHUNK = 500
BODY = ("On 3 March we found that a storage bucket holding backups of the trust center could be read without "
        "credentials for about six hours.\n\nThe backups held names, e-mail addresses and the history of "
        "requests. We closed the bucket, rotated the keys it held and asked the hosting provider for its "
        "access logs.\n\nYou need not do anything. If you see mail claiming to come from us that asks for a "
        "password, do not answer it and tell us.")


@dataclass(frozen=True)
class Sizes:
    people: int
    publish_rounds: int
    fanout_rounds: int
    mails: int  # delivered in all, over the delivery rounds
    delivery_rounds: int


FULL = Sizes(people=10_000, publish_rounds=5, fanout_rounds=3, mails=2_000, delivery_rounds=4)
QUICK = Sizes(people=1_000, publish_rounds=2, fanout_rounds=1, mails=300, delivery_rounds=3)


# --------------------------------------------------------------------------- databases and the app

def sqlite_backend() -> Backend:
    folder = Path(tempfile.mkdtemp(prefix="trustcenter-bench-notices-"))
    return Backend("SQLite", f"sqlite:///{folder / 'data.db'}", f"sqlite:///{folder / 'keys.db'}", folder / "instance",
                   folder)


def postgresql_backend(admin_url: str, database: str) -> Backend:
    instance = Path(tempfile.mkdtemp(prefix="trustcenter-bench-notices-pg-"))
    scratch = Scratch(admin_url, database, instance)
    scratch.drop()
    scratch.create()
    return Backend("PostgreSQL", scratch.url(), scratch.url(keystore=True), instance, instance, scratch)


def make_app(backend: Backend):
    from trustcenter import create_app

    return create_app(backend.config())  # MAIL_WORKER_THREAD off: nothing delivers behind the benchmark's back


@contextmanager
def timed_sql(engine: Any) -> Iterator[list[float]]:
    """Statements sent to `engine` inside the block, and the seconds spent waiting for them."""
    found = [0, 0.0]

    def before(conn: Any, *_args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, *_args: Any) -> None:
        found[0] += 1
        found[1] += time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


# --------------------------------------------------------------------------- seeding

@dataclass
class Seeded:
    dpo_id: str
    totp_secret: str
    org_id: str
    incident_id: str
    notice_id: str  # the initial notice, drafted
    people: int
    seconds: float


def seed(app: Any, sizes: Sizes) -> Seeded:
    from trustcenter.accounts import mfa
    from trustcenter.accounts import service as accounts
    from trustcenter.accounts.models import CUSTOMER, Organisation, User
    from trustcenter.notices import service
    from trustcenter.notices.models import Phase, Severity

    started = time.perf_counter()
    with app.app_context(), app_session(app) as session:
        provider = accounts.provider_organisation(session, "Benchmark Trust Services Ltd")
        dpo = accounts.create_user(session, provider, DPO_EMAIL, "dpo", password=PASSWORD, first_name="Dana",
                                   last_name="Officer")
        secret = mfa.new_secret()
        dpo.totp_secret, dpo.totp_enabled = secret, True
        org = accounts.create_organisation(session, "Benchmark Customer Ltd", CUSTOMER)
        session.commit()
        for number in range(sizes.people):
            accounts.create_user(session, org, f"person{number:05d}@customer.example",
                                 "customer_admin" if number == 0 else "customer_member",
                                 first_name=f"Given{number}", last_name=f"Family{number}")
            if (number + 1) % SEED_CHUNK == 0 or number + 1 == sizes.people:
                session.commit()
                session.expunge_all()  # a small identity map, as a chunked import keeps it
                org = session.get(Organisation, org.id)
                if (number + 1) % 2_000 == 0 or number + 1 == sizes.people:
                    print(f"  {number + 1:>6,} of {sizes.people:,} people ({time.perf_counter() - started:.1f} s)",
                          flush=True)
        dpo = session.get(User, dpo.id)
        actor = service.Actor(dpo, IP)
        incident = service.record_incident(
            session, actor, service.Facts("Backup bucket readable", "A storage bucket holding backups was readable "
                                          "without credentials.", people_affected="Every user of the customer"),
            Severity.HIGH, dt.datetime.now(dt.UTC) - dt.timedelta(hours=3), [org.id])
        notice = service.draft_notice(session, actor, incident, Phase.INITIAL, "Backups were exposed", BODY)
        found = Seeded(dpo.id, secret, org.id, incident.id, notice.id, sizes.people, time.perf_counter() - started)
    print(f"  seeded in {found.seconds:.1f} s: a DPO, {found.people:,} people in one customer organisation, an "
          f"incident for it and its initial notice, drafted", flush=True)
    return found


def draft_update(app: Any, seeded: Seeded, number: int) -> str:
    from trustcenter.accounts.models import User
    from trustcenter.notices import service
    from trustcenter.notices.models import Phase

    with app.app_context(), app_session(app) as session:
        dpo = session.get(User, seeded.dpo_id)
        incident = service.incident_for(session, dpo, seeded.incident_id)
        notice = service.draft_notice(session, service.Actor(dpo, IP), incident, Phase.UPDATE,
                                      f"Update {number}: what we found since", BODY)
        return notice.id


def notice_state(app: Any, notice_id: str) -> tuple[str, int, bool]:
    from trustcenter.notices.models import Notice

    with app_session(app) as session:
        notice = session.get(Notice, notice_id)
        return notice.state, notice.recipients, notice.fanout_done_at is not None


# --------------------------------------------------------------------------- target 1: publishing

@dataclass
class PublishRound:
    baseline: float
    service: float
    post: float
    page: float  # the incident page the POST redirects to
    statements: int  # service.publish's, on the main database
    busy: float


def publish_in_context(app: Any, seeded: Seeded, notice_id: str) -> tuple[float, int]:
    """`service.publish` as the route calls it, in an application context; returns seconds and statements."""
    from trustcenter.accounts.models import User
    from trustcenter.extensions import db
    from trustcenter.notices import service

    with app.app_context():
        session = db.session()
        dpo = session.get(User, seeded.dpo_id)
        incident = service.incident_for(session, dpo, seeded.incident_id)
        notice = service.notice_for_staff(session, dpo, incident, notice_id)
        assert incident is not None and notice is not None
        with counted(db.engine) as statements:
            started = time.perf_counter()
            service.publish(session, service.Actor(dpo, IP), incident, notice)
            elapsed = time.perf_counter() - started
        return elapsed, statements[0]


def trivial_update(app: Any, seeded: Seeded) -> float:
    """The baseline: one UPDATE of the incident's row and its commit, through the same kind of session."""
    from trustcenter.extensions import db
    from trustcenter.notices.models import Incident

    with app.app_context():
        session = db.session()
        session.execute(text("SELECT 1"))  # the connection checked out, as the route's loads do before publish
        started = time.perf_counter()
        session.execute(update(Incident).where(Incident.id == seeded.incident_id)
                        .values(updated_at=dt.datetime.now(dt.UTC)))
        session.commit()
        return time.perf_counter() - started


def csrf_token_from(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html)
    if match is None:
        raise SystemExit("no CSRF token on the page")
    return match.group(1)


def sign_in_dpo(client: Any, seeded: Seeded) -> None:
    """Password, then the second factor, through the forms."""
    import pyotp

    page = client.get("/account/login").get_data(as_text=True)
    response = client.post("/account/login", data={"email": DPO_EMAIL, "password": PASSWORD,
                                                    "csrf_token": csrf_token_from(page)})
    if response.status_code != 303 or "/login/verify" not in (response.location or ""):
        raise SystemExit(f"signing in as the DPO answered {response.status_code} {response.location}")
    verify = client.get("/account/login/verify").get_data(as_text=True)
    response = client.post("/account/login/verify", data={"code": pyotp.TOTP(seeded.totp_secret).now(),
                                                           "csrf_token": csrf_token_from(verify)})
    if response.status_code != 303:
        raise SystemExit(f"the DPO's second factor answered {response.status_code}")


def publish_over_http(client: Any, seeded: Seeded, notice_id: str) -> tuple[float, float]:
    """The DPO's POST, timed; then the page it redirects to, timed on its own."""
    page = f"/staff/incidents/{seeded.incident_id}"
    html = client.get(page)
    if html.status_code != 200:
        raise SystemExit(f"the incident page answered {html.status_code}")
    token = csrf_token_from(html.get_data(as_text=True))
    started = time.perf_counter()
    response = client.post(f"{page}/notices/{notice_id}/publish", data={"csrf_token": token})
    post = time.perf_counter() - started
    if response.status_code != 303:
        raise SystemExit(f"publishing answered {response.status_code}")
    started = time.perf_counter()
    after = client.get(response.location)
    shown = time.perf_counter() - started
    if after.status_code != 200 or "Published." not in after.get_data(as_text=True):
        raise SystemExit("the page after publishing does not say it was published")
    return post, shown


def measure_publish(app: Any, seeded: Seeded, sizes: Sizes, idle: float) -> list[PublishRound]:
    client = app.test_client()
    sign_in_dpo(client, seeded)
    rounds: list[PublishRound] = []
    drafted = 0
    for number in range(sizes.publish_rounds + 1):  # round 0 warms imports, templates and keys; not counted
        busy = wait_for_idle(idle)
        notices: dict[str, str] = {}
        if number == 0:
            notices["service"] = seeded.notice_id  # the initial notice: updates can be drafted once it is out
        found: dict[str, Any] = {}
        order = ["baseline", "service", "http"]
        shift = number % 3
        for step in order[shift:] + order[:shift] if number else order:
            if step != "baseline" and step not in notices:
                drafted += 1
                notices[step] = draft_update(app, seeded, drafted)  # not timed
            if step == "baseline":
                found["baseline"] = trivial_update(app, seeded)
            elif step == "service":
                found["service"], found["statements"] = publish_in_context(app, seeded, notices[step])
            else:
                found["post"], found["page"] = publish_over_http(client, seeded, notices[step])
        for notice_id in notices.values():
            if notice_state(app, notice_id)[0] != "published":
                print(f"notice {notice_id} was not published", file=sys.stderr)
                raise SystemExit(2)
        result = PublishRound(found["baseline"], found["service"], found["post"], found["page"], found["statements"],
                              busy)
        label = "warm-up" if number == 0 else f"round {number}/{sizes.publish_rounds}"
        print(f"  {label}: baseline UPDATE {result.baseline * 1000:.1f} ms, service.publish "
              f"{result.service * 1000:.1f} ms ({result.statements} statements), POST {result.post * 1000:.1f} ms, "
              f"the page after it {result.page * 1000:.1f} ms{flag(busy)}", flush=True)
        if number:
            rounds.append(result)
    return rounds


def flag(busy: float) -> str:
    return f" [machine busy: {busy:.2f} cores]" if busy > 0.15 else ""


# --------------------------------------------------------------------------- the fan-out

@dataclass
class FanOut:
    seconds: float
    cpu: float
    recipients: int
    statements: int
    keystore_statements: int
    keystore_sql: float  # seconds waiting for the key store's statements
    busy: float
    warm: bool = False


def warm_people_keys(app: Any, seeded: Seeded) -> None:
    from trustcenter.accounts.models import User

    keys = app.extensions["keys"]
    with app_session(app) as session:
        ids = session.scalars(select(User.data_key_id).where(User.org_id == seeded.org_id)).all()
    keys.data_aeads(ids)


def fan_out_once(app: Any, seeded: Seeded, warm: bool, busy: float) -> FanOut:
    from trustcenter.extensions import db
    from trustcenter.notices import service
    from trustcenter.notices.mail import compose

    keys = app.extensions["keys"]
    keys.forget()
    if warm:
        warm_people_keys(app, seeded)
    gc.collect()
    with app.app_context():
        with counted(db.engine) as statements, timed_sql(keys.engine) as keystore:
            started, cpu = time.perf_counter(), time.process_time()
            reached = service.fan_out(db.session(), "bench-fanout", compose, batch=FANOUT_BATCH)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return FanOut(elapsed, cpu, reached, statements[0], int(keystore[0]), keystore[1], busy, warm)


def composed_sizes(app: Any, seeded: Seeded) -> tuple[str, str, str]:
    from trustcenter.extensions import db
    from trustcenter.notices.mail import compose
    from trustcenter.notices.models import Incident, Notice

    with app.app_context():
        session = db.session()
        notice = session.get(Notice, seeded.notice_id)
        return compose(notice, session.get(Incident, notice.incident_id))


def insert_baseline(app: Any, people: int, composed: tuple[str, str, str]) -> float:
    """What the fan-out writes, as plain rows: one outbox-like and one receipt-like row per recipient,
    executemany and a commit per 500, in scratch tables of the same database."""
    from trustcenter.extensions import db

    subject, body, html = composed
    notice_id = str(uuid.uuid4())
    with app.app_context():
        engine = db.engine
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS bench_outbox"))
        connection.execute(text("DROP TABLE IF EXISTS bench_receipts"))
        connection.execute(text("CREATE TABLE bench_outbox (id VARCHAR(36) PRIMARY KEY, message_id VARCHAR(255) "
                                "UNIQUE, created_at TIMESTAMP, status VARCHAR(16), next_attempt_at TIMESTAMP, "
                                "recipient TEXT, subject TEXT, text_body TEXT, html_body TEXT)"))
        connection.execute(text("CREATE INDEX ix_bench_outbox_claim ON bench_outbox (status, next_attempt_at)"))
        connection.execute(text("CREATE TABLE bench_receipts (id VARCHAR(36) PRIMARY KEY, notice_id VARCHAR(36), "
                                "user_id VARCHAR(36), org_id VARCHAR(36), mail_id VARCHAR(36), mailed_at TIMESTAMP, "
                                "mails INTEGER, UNIQUE (notice_id, user_id))"))
    gc.collect()
    started = time.perf_counter()
    for first in range(0, people, FANOUT_BATCH):
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        mails, receipts = [], []
        for number in range(first, min(first + FANOUT_BATCH, people)):
            mail_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
            mails.append({"id": mail_id, "message_id": f"<notice-{notice_id}.{user_id}@trustcenter>",
                          "created_at": now, "status": "pending", "next_attempt_at": now,
                          "recipient": f"person{number:05d}@customer.example", "subject": subject, "text_body": body,
                          "html_body": html})
            receipts.append({"id": str(uuid.uuid4()), "notice_id": notice_id, "user_id": user_id, "org_id": notice_id,
                             "mail_id": mail_id, "mailed_at": now, "mails": 1})
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO bench_outbox VALUES (:id, :message_id, :created_at, :status, "
                                    ":next_attempt_at, :recipient, :subject, :text_body, :html_body)"), mails)
            connection.execute(text("INSERT INTO bench_receipts VALUES (:id, :notice_id, :user_id, :org_id, :mail_id, "
                                    ":mailed_at, :mails)"), receipts)
    elapsed = time.perf_counter() - started
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE bench_outbox"))
        connection.execute(text("DROP TABLE bench_receipts"))
    return elapsed


def measure_fan_out(app: Any, seeded: Seeded, sizes: Sizes, idle: float,
                    warm_keys_too: bool) -> tuple[list[FanOut], list[float], tuple[str, str, str]]:
    from trustcenter.notify.models import OutboxMessage

    composed = composed_sizes(app, seeded)
    runs: list[FanOut] = []
    baselines: list[float] = []
    variants = [False, True] if warm_keys_too else [False]
    for number in range(1, sizes.fanout_rounds + 1):
        for warm in variants[number % len(variants):] + variants[:number % len(variants)]:
            busy = wait_for_idle(idle)
            with app_session(app) as session:
                before = session.scalar(select(func.count()).select_from(OutboxMessage))
            run = fan_out_once(app, seeded, warm, busy)
            with app_session(app) as session:
                queued = session.scalar(select(func.count()).select_from(OutboxMessage)) - before
            if run.recipients != seeded.people or queued != seeded.people:
                print(f"the fan-out reached {run.recipients:,} and queued {queued:,} mails, not {seeded.people:,}",
                      file=sys.stderr)
                raise SystemExit(2)
            runs.append(run)
            print(f"  round {number}/{sizes.fanout_rounds}{' warm keys' if warm else ''}: {run.recipients:,} "
                  f"recipients in {run.seconds:.2f} s ({run.recipients / run.seconds:,.0f}/s), CPU {run.cpu:.2f} s, "
                  f"{run.statements:,} statements, {run.keystore_statements:,} on the key store "
                  f"({run.keystore_sql:.2f} s){flag(busy)}", flush=True)
        busy = wait_for_idle(idle)
        baselines.append(insert_baseline(app, seeded.people, composed))
        print(f"  round {number}/{sizes.fanout_rounds} baseline: {2 * seeded.people:,} plain rows in "
              f"{baselines[-1]:.2f} s{flag(busy)}", flush=True)
    return runs, baselines, composed


# --------------------------------------------------------------------------- target 2: delivery

class SmtpProcess:
    """tests.smtp.SmtpServer in a process of its own (or, with `in_process`, in a thread of this one)."""

    def __init__(self, in_process: bool) -> None:
        from tests.smtp import free_port

        self.port = free_port()
        self.in_process = in_process
        self.server: Any = None
        self.process: subprocess.Popen[str] | None = None
        if in_process:
            from tests.smtp import SmtpServer

            self.server = SmtpServer(self.port).start()
        else:
            self.process = subprocess.Popen([sys.executable, __file__, "--smtp-server", str(self.port)], cwd=ROOT,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
            assert self.process.stdout is not None
            if self.process.stdout.readline().strip() != "ready":
                raise SystemExit("the SMTP server did not start")

    def received(self) -> tuple[int, int]:
        """Messages received in all, and distinct Message-IDs among them."""
        if self.server is not None:
            ids = self.server.mailbox.count_by_message_id()
            return sum(ids.values()), len(ids)
        assert self.process is not None and self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        found = json.loads(self.process.stdout.readline())
        return found["messages"], found["distinct"]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def smtp_server_child(port: int) -> int:
    from tests.smtp import SmtpServer

    server = SmtpServer(port).start()
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "count":
                ids = server.mailbox.count_by_message_id()
                print(json.dumps({"messages": sum(ids.values()), "distinct": len(ids)}), flush=True)
    finally:
        server.stop()
    return 0


@dataclass
class DeliveryRound:
    mails: int
    worker: float  # deliver_batch in a loop
    statements: int
    transport: float  # SmtpTransport.send of the decrypted mails, no database
    per_connection: float  # smtplib, the built messages, one connection each
    one_connection: float  # smtplib, the built messages, one connection for all
    busy: float
    cpu: float


def sent_since(app: Any, moment: dt.datetime) -> list[Any]:
    """The mails the worker sent since `moment`, decrypted, as `deliver_batch` hands them to the transport."""
    from trustcenter.notify.models import SENT, OutboxMessage
    from trustcenter.notify.outbox import to_mail

    with app_session(app) as session:
        return [to_mail(m) for m in session.scalars(select(OutboxMessage).where(
            OutboxMessage.status == SENT, OutboxMessage.sent_at >= moment).order_by(OutboxMessage.sent_at))]


def smtplib_each(port: int, messages: list[tuple[Any, str]]) -> None:
    """What SmtpTransport does on the wire: connect, send, QUIT, for every message."""
    for message, to in messages:
        client = smtplib.SMTP("127.0.0.1", port, timeout=5)
        try:
            client.send_message(message, to_addrs=[to])
        finally:
            client.quit()


def smtplib_one(port: int, messages: list[tuple[Any, str]]) -> None:
    client = smtplib.SMTP("127.0.0.1", port, timeout=5)
    try:
        for message, to in messages:
            client.send_message(message, to_addrs=[to])
    finally:
        client.quit()


def measure_delivery(app: Any, sizes: Sizes, idle: float, in_process: bool) -> list[DeliveryRound]:
    from trustcenter.extensions import db, session_factory
    from trustcenter.notify import SmtpTransport
    from trustcenter.notify.outbox import deliver_batch
    from trustcenter.notify.transports import DEFAULT_FROM, build_message

    server = SmtpProcess(in_process)
    try:
        transport = SmtpTransport("127.0.0.1", server.port, starttls=False, timeout=5)  # = SmtpServer.transport()
        factory = session_factory(app)
        with app.app_context():
            engine = db.engine
        per_round = max(DELIVERY_BATCH, sizes.mails // sizes.delivery_rounds // DELIVERY_BATCH * DELIVERY_BATCH)
        rounds: list[DeliveryRound] = []
        print(f"  SMTP server on 127.0.0.1:{server.port} "
              f"({'a thread of this process' if in_process else 'a process of its own'})", flush=True)
        for number in range(sizes.delivery_rounds + 1):  # round 0: one batch to warm up; not counted
            busy = wait_for_idle(idle)
            target = DELIVERY_BATCH if number == 0 else per_round
            received_before = server.received()[0]
            moment = dt.datetime.now(dt.UTC)
            sent = 0
            gc.collect()
            with counted(engine) as statements:
                started, cpu = time.perf_counter(), time.process_time()
                while sent < target:
                    report = deliver_batch(factory, transport, "bench-delivery", batch=DELIVERY_BATCH)
                    if report.claimed == 0:
                        break  # the outbox is empty
                    if report.sent != report.claimed:
                        print(f"a batch did not go out: {report}", file=sys.stderr)
                        raise SystemExit(2)
                    sent += report.sent
                worker, cpu = time.perf_counter() - started, time.process_time() - cpu
            mails = sent_since(app, moment)
            got = server.received()[0] - received_before
            if len(mails) != sent or got != sent or sent == 0:
                print(f"the worker sent {sent} mails, the outbox says {len(mails)}, the server got {got}",
                      file=sys.stderr)
                raise SystemExit(2)
            built = [(build_message(mail, DEFAULT_FROM), mail.to) for mail in mails]
            timings: dict[str, float] = {}
            steps: dict[str, Callable[[], None]] = {
                "transport": lambda: [transport.send(mail) for mail in mails],  # type: ignore[func-returns-value]
                "per_connection": lambda: smtplib_each(server.port, built),
                "one_connection": lambda: smtplib_one(server.port, built)}
            names = list(steps)
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                before = server.received()[0]
                gc.collect()
                started = time.perf_counter()
                steps[name]()
                timings[name] = time.perf_counter() - started
                if server.received()[0] - before != sent:
                    print(f"the server did not receive every mail of the {name} baseline", file=sys.stderr)
                    raise SystemExit(2)
            result = DeliveryRound(sent, worker, statements[0], timings["transport"], timings["per_connection"],
                                   timings["one_connection"], busy, cpu)
            label = "warm-up" if number == 0 else f"round {number}/{sizes.delivery_rounds}"
            print(f"  {label}: {sent} mails; worker {sent / worker:.0f}/s ({statements[0] / sent:.1f} statements "
                  f"a mail, CPU {cpu:.2f} s of {worker:.2f} s); SmtpTransport without the database "
                  f"{sent / result.transport:.0f}/s; smtplib a connection each {sent / result.per_connection:.0f}/s, "
                  f"one connection {sent / result.one_connection:.0f}/s{flag(busy)}", flush=True)
            if number:
                rounds.append(result)
        total, distinct = server.received()
        print(f"  the server received {total:,} messages, {distinct:,} distinct Message-IDs "
              f"(each mail sent four times: by the worker and by the three baselines)", flush=True)
        return rounds
    finally:
        server.stop()


# --------------------------------------------------------------------------- one store

@dataclass
class StoreResult:
    backend: str
    seeded: Seeded
    publish: list[PublishRound] = field(default_factory=list)
    fan_out: list[FanOut] = field(default_factory=list)
    fan_out_baseline: list[float] = field(default_factory=list)
    composed: tuple[int, int, int] = (0, 0, 0)
    delivery: list[DeliveryRound] = field(default_factory=list)
    outbox_pending: int = 0


def measure_store(backend: Backend, sizes: Sizes, args: argparse.Namespace) -> StoreResult:
    from trustcenter.notify.models import PENDING, OutboxMessage

    print(f"\n[{backend.name}] seeding", flush=True)
    app = make_app(backend)
    try:
        seeded = seed(app, sizes)
        result = StoreResult(backend.name, seeded)
        print(f"[{backend.name}] publishing: {sizes.publish_rounds} rounds after a warm-up", flush=True)
        result.publish = measure_publish(app, seeded, sizes, args.wait_for_idle)
        print(f"[{backend.name}] fan-out of {seeded.people:,} recipients, batches of {FANOUT_BATCH}, cold key cache",
              flush=True)
        result.fan_out, result.fan_out_baseline, composed = measure_fan_out(app, seeded, sizes, args.wait_for_idle,
                                                                            args.warm_keys)
        result.composed = tuple(len(part) for part in composed)  # type: ignore[assignment]
        with app_session(app) as session:
            result.outbox_pending = session.scalar(select(func.count()).select_from(OutboxMessage)
                                                   .where(OutboxMessage.status == PENDING))
        print(f"[{backend.name}] delivery: {sizes.mails:,} mails in {sizes.delivery_rounds} rounds, batches of "
              f"{DELIVERY_BATCH}, from an outbox of {result.outbox_pending:,} pending mails", flush=True)
        result.delivery = measure_delivery(app, sizes, args.wait_for_idle, args.smtp_in_process)
        return result
    finally:
        close_app(app)


# --------------------------------------------------------------------------- the report

def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(result: StoreResult) -> None:
    median = statistics.median
    rounds = result.publish
    print(f"\n{result.backend}: publishing a notice to {result.seeded.people:,} people, {len(rounds)} rounds (ms)")
    print(f"{'case':<42}{'median':>9}{'best':>9}{'slowest':>9}{'/ baseline':>12}")
    base = median(r.baseline for r in rounds)
    for label, values in (("baseline: UPDATE incidents + commit", [r.baseline for r in rounds]),
                          ("service.publish (in an app context)", [r.service for r in rounds]),
                          ("POST .../publish (test client, DPO)", [r.post for r in rounds]),
                          ("the page it redirects to (GET)", [r.page for r in rounds])):
        print(f"{label:<42}{ms(median(values)):>9}{ms(min(values)):>9}{ms(max(values)):>9}"
              f"{median(values) / base:>12.1f}")
    statements = sorted({r.statements for r in rounds})
    print(f"service.publish sent {'/'.join(map(str, statements))} statements to the main database")
    worst = max(max(r.post for r in rounds), max(r.service for r in rounds))
    verdict = "MEETS" if median(r.post for r in rounds) <= TARGET_PUBLISH_SECONDS and worst <= TARGET_PUBLISH_SECONDS \
        else "MISSES"
    print(f"publishing {verdict} the target of at most {TARGET_PUBLISH_SECONDS:.0f} s: the DPO's POST took a median of "
          f"{ms(median(r.post for r in rounds))} ms, the slowest round {ms(worst)} ms")

    for warm in (False, True):
        runs = [r for r in result.fan_out if r.warm is warm]
        if not runs:
            continue
        seconds = median(r.seconds for r in runs)
        baseline = median(result.fan_out_baseline)
        print(f"\n{result.backend}: fan-out of {runs[0].recipients:,} recipients, batches of {FANOUT_BATCH}, "
              f"{'every key cached' if warm else 'cold key cache'}, {len(runs)} rounds; the mail is "
              f"{result.composed[0]} + {result.composed[1]:,} + {result.composed[2]:,} characters "
              f"(subject, text, HTML)")
        print(f"median {seconds:.2f} s (best {min(r.seconds for r in runs):.2f}, slowest "
              f"{max(r.seconds for r in runs):.2f}): {runs[0].recipients / seconds:,.0f} recipients/s; CPU of this "
              f"process {median(r.cpu for r in runs):.2f} s; {runs[0].statements:,} statements, "
              f"{runs[0].keystore_statements:,} on the key store ({median(r.keystore_sql for r in runs):.2f} s "
              f"waiting for them)")
        print(f"baseline: the same {2 * runs[0].recipients:,} rows, plain, executemany, a commit per {FANOUT_BATCH}: "
              f"{baseline:.2f} s ({runs[0].recipients / baseline:,.0f} recipients/s); fan-out / baseline = "
              f"{seconds / baseline:.1f}")

    delivered = result.delivery
    print(f"\n{result.backend}: delivery by one worker, {sum(r.mails for r in delivered):,} mails in "
          f"{len(delivered)} rounds of {delivered[0].mails} (mails/s)")
    print(f"{'case':<58}{'median':>8}{'best':>8}{'worst':>8}{'worker /':>10}")
    worker = median(r.mails / r.worker for r in delivered)
    for label, values in (
            ("deliver_batch(batch=20) in a loop, as run_worker", [r.mails / r.worker for r in delivered]),
            ("SmtpTransport.send, same mails, no database", [r.mails / r.transport for r in delivered]),
            ("smtplib, built messages, a connection each", [r.mails / r.per_connection for r in delivered]),
            ("smtplib, built messages, one connection for all", [r.mails / r.one_connection for r in delivered])):
        print(f"{label:<58}{median(values):>8.0f}{max(values):>8.0f}{min(values):>8.0f}"
              f"{worker / median(values):>10.2f}")
    print(f"the worker: {median(r.statements / r.mails for r in delivered):.1f} statements a mail; CPU of this process "
          f"{median(r.cpu / r.worker for r in delivered) * 100:.0f}% of the wall time")


def print_environment(sizes: Sizes, args: argparse.Namespace) -> None:
    versions = ", ".join(f"{name} {version_of(name)}" for name in ("Flask", "Werkzeug", "SQLAlchemy", "psycopg",
                                                                     "cryptography", "aiosmtpd"))
    print(f"revision {git_revision()}; {os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}, "
          f"CPython {platform.python_version()}; {versions}; load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"sizes: {sizes.people:,} people; {sizes.publish_rounds} publish rounds; {sizes.fanout_rounds} fan-out "
          f"rounds; {sizes.mails:,} mails in {sizes.delivery_rounds} delivery rounds; SMTP server "
          f"{'in a thread of this process' if args.smtp_in_process else 'in a process of its own'}")


def postgresql_version(backend: Backend) -> str:
    from sqlalchemy import create_engine

    engine = create_engine(backend.url)
    try:
        with engine.connect() as connection:
            return str(connection.scalar(text("SHOW server_version")))
    finally:
        engine.dispose()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: 1,000 people, 300 mails")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--people", type=int, help="people in the customer organisation [10,000; 1,000 with --quick]")
    parser.add_argument("--rounds", type=int, help="timed publish rounds [5; 2 with --quick]")
    parser.add_argument("--fanout-rounds", type=int, help="timed fan-outs [3; 1 with --quick]")
    parser.add_argument("--mails", type=int, help="mails delivered in all [2,000; 300 with --quick]")
    parser.add_argument("--delivery-rounds", type=int, help="rounds the mails are delivered in [4; 3 with --quick]")
    parser.add_argument("--warm-keys", action="store_true", help="also fan out with every person's key cached")
    parser.add_argument("--smtp-in-process", action="store_true",
                        help="run the SMTP server in a thread of this process, not a process of its own")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to create the scratch ones "
                                                               "from [TEST_DATABASE_URL, else postgres on 127.0.0.1]")
    parser.add_argument("--database", default=DATABASE, help="scratch database name (the key store adds _keys)")
    parser.add_argument("--wait-for-idle", type=float, default=20,
                        help="seconds to wait for a quiet machine before each round [20]")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases and folders")
    parser.add_argument("--smtp-server", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # so the scratch databases and folders are dropped on the way out


def main() -> int:
    args = parse_args()
    if args.smtp_server:
        return smtp_server_child(args.smtp_server)
    signal.signal(signal.SIGTERM, _terminate)
    sizes = QUICK if args.quick else FULL
    overrides = {"people": args.people, "publish_rounds": args.rounds, "fanout_rounds": args.fanout_rounds,
                 "mails": args.mails, "delivery_rounds": args.delivery_rounds}
    sizes = Sizes(**{**sizes.__dict__, **{k: v for k, v in overrides.items() if v}})
    print_environment(sizes, args)
    started = time.perf_counter()
    results: list[StoreResult] = []
    for name in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
        backend = sqlite_backend() if name == "sqlite" else postgresql_backend(args.admin_url, args.database)
        try:
            if backend.scratch is not None:
                print(f"PostgreSQL {postgresql_version(backend)} at {backend.scratch.url().rsplit('@', 1)[-1]}")
            migrate(backend)
            results.append(measure_store(backend, sizes, args))
        finally:
            if args.keep:
                print(f"kept {backend.url}, {backend.keystore_url} and {backend.folder}")
            else:
                backend.drop()
    for result in results:
        report(result)
    print(f"\nthe whole run took {(time.perf_counter() - started) / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
