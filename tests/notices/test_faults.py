"""Notices the way they run: `trustcenter worker` processes in production mode, keys cold, SMTP down during the
fan-out, a worker killed with SIGKILL between batches and another started; every recipient gets one mail."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections import Counter

import pytest
from sqlalchemy import func, select, update

from tests.conftest import empty_all_tables
from tests.processes import BIN, PROJECT_ROOT, production_env
from tests.smtp import SmtpServer, free_port
from trustcenter import create_app
from trustcenter.accounts import service as accounts
from trustcenter.accounts.models import CUSTOMER
from trustcenter.crypto.keys import AUDIT_ENV, INDEX_ENV, MASTER_ENV
from trustcenter.extensions import db
from trustcenter.notices import service
from trustcenter.notices.models import Notice, NoticeReceipt, Phase, Severity
from trustcenter.notify.models import OutboxMessage

PEOPLE = 120
BATCH = 10


@pytest.fixture
def seeder(app_config, databases, tmp_path, monkeypatch):
    """An app on the same databases with the production processes' root keys, to seed and to inspect."""
    smtp = SmtpServer(free_port())  # not started: its port refuses connections
    env = production_env(databases, tmp_path, smtp.port)
    env["TRUSTCENTER_NOTICE_BATCH"] = str(BATCH)
    for name in (MASTER_ENV, INDEX_ENV, AUDIT_ENV):
        monkeypatch.setenv(name, env[name])
    app = create_app(app_config)
    app.extensions["mail_worker"].stop()
    yield app, env, smtp
    smtp.stop()
    empty_all_tables(app)


def publish_to_many(app) -> tuple[str, set[str]]:
    with app.app_context():
        session = db.session()
        provider = accounts.provider_organisation(session, "Cloud Stem")
        dpo = accounts.create_user(session, provider, "dpo@provider.example", "dpo")
        org = accounts.create_organisation(session, "Big Customer Ltd", CUSTOMER)
        addresses = {f"person{n:04d}@big.example" for n in range(PEOPLE)}
        for address in sorted(addresses):
            accounts.create_user(session, org, address, "customer_member")
        session.commit()
        actor = service.Actor(dpo)
        incident = service.record_incident(session, actor, service.Facts("Leak", "A leak"), Severity.HIGH,
                                           dt.datetime.now(dt.timezone.utc), [org.id])
        notice = service.draft_notice(session, actor, incident, Phase.INITIAL, "Leak", "What happened.")
        service.publish(session, actor, incident, notice)
        return notice.id, addresses


def start_worker(env, log) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([str(BIN / "trustcenter"), "worker", "--poll", "0.2"], env=env, cwd=PROJECT_ROOT,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(worker: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    os.killpg(worker.pid, sig)
    worker.wait(timeout=30)


def fan_out_state(app, notice_id: str) -> tuple[int, bool, int, int]:
    """(recipients recorded on the notice, done, receipts, notice mails in the outbox)."""
    with app.app_context():
        session = db.session()
        notice = session.get(Notice, notice_id)
        session.refresh(notice)
        receipts = session.scalar(select(func.count()).select_from(NoticeReceipt))
        mails = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.message_id.like(f"<notice-{notice_id}.%")))
        db.session.remove()
        return notice.recipients, notice.fanout_done_at is not None, receipts, mails


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_worker_and_an_smtp_outage_lose_and_duplicate_nothing(seeder, tmp_path):
    app, env, smtp = seeder
    notice_id, addresses = publish_to_many(app)
    log = tmp_path / "workers.log"

    first = start_worker(env, log)
    wait_until(lambda: fan_out_state(app, notice_id)[0] >= 2 * BATCH, 120, "the first batches")
    stop(first, signal.SIGKILL)  # mid-fan-out: no chance to finish a batch or release the lease
    recipients, done, receipts, mails = fan_out_state(app, notice_id)
    assert not done, "the fan-out finished before the worker was killed: raise PEOPLE"
    assert recipients == receipts == mails and recipients % BATCH == 0  # only whole batches were committed

    with app.app_context():  # as if the 5-minute lease had run out
        db.session().execute(update(Notice).values(fanout_until=dt.datetime.now(dt.timezone.utc)
                                                   - dt.timedelta(seconds=1)))
        db.session().commit()
    second = start_worker(env, log)
    try:
        wait_until(lambda: fan_out_state(app, notice_id)[1], 180, "the fan-out to finish")
        assert fan_out_state(app, notice_id)[:2] == (PEOPLE, True)
        with app.app_context():  # SMTP was down all along: every mail is still waiting, none lost
            statuses = Counter(db.session().scalars(select(OutboxMessage.status)).all())
            assert statuses["sent"] == 0 and sum(statuses.values()) >= PEOPLE
            db.session().execute(update(OutboxMessage).values(next_attempt_at=dt.datetime.now(dt.timezone.utc)))
            db.session().commit()
        smtp.start()
        wait_until(lambda: len({str(m["To"]) for m in smtp.mailbox.messages} & addresses) == PEOPLE, 180,
                   "every recipient's mail")
    finally:
        stop(second)
    received = Counter(str(m["To"]) for m in smtp.mailbox.messages if str(m["To"]) in addresses)
    assert set(received) == addresses and set(received.values()) == {1}, log.read_text()[-3000:]
    ids = Counter(str(m["Message-ID"]) for m in smtp.mailbox.messages if str(m["To"]) in addresses)
    assert set(ids.values()) == {1} and all(i.startswith(f"<notice-{notice_id}.") for i in ids)
