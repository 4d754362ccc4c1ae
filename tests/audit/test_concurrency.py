"""Writers in separate sessions and threads queue on the head row and build one valid chain."""

from __future__ import annotations

import threading

from sqlalchemy import select

from tests.conftest import new_session
from trustcenter.audit import AuditEntry, record
from tests.audit.helpers import check

THREADS, PER_THREAD = 2, 20


def write(worker: int, errors: list[BaseException], start: threading.Barrier) -> None:
    session = new_session()
    try:
        start.wait()
        for n in range(PER_THREAD):
            record(session, "login.success", actor_label="staff", details={"worker": worker, "n": n})
            session.commit()
    except BaseException as error:  # reported by the test thread
        errors.append(error)
    finally:
        session.close()


def test_concurrent_appends_build_one_valid_chain(session, keys):
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)
    threads = [threading.Thread(target=write, args=(w, errors, start)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    ids = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
    assert ids == list(range(1, THREADS * PER_THREAD + 1))
    workers = {(e.details["worker"], e.details["n"]) for e in session.scalars(select(AuditEntry))}
    assert len(workers) == THREADS * PER_THREAD
    result = check(session, keys)
    assert result.ok and result.checked == THREADS * PER_THREAD
