"""Helpers for the audit tests: a settable clock, filling the log, tampering with it behind its back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import LargeBinary, bindparam, text
from sqlalchemy.orm import Session

from trustcenter.audit import record, verify
from trustcenter.audit.models import UTCDateTime
from trustcenter.audit.verify import VerifyResult
from trustcenter.crypto import RootKeys

TYPED_PARAMS = {"at": UTCDateTime(), "created_at": UTCDateTime(), "details": LargeBinary()}


class Clock:
    """Stands in for `service.utcnow`, so entries can be written in the past."""

    def __init__(self) -> None:
        self.now: dt.datetime | None = None

    def __call__(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.timezone.utc)

    def days_ago(self, days: float) -> None:
        self.now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)

    def real(self) -> None:
        self.now = None


def fill(session: Session, count: int, **fields: Any) -> list[int]:
    """Record `count` login entries and commit; their ids."""
    fields = {"actor_label": "staff", "ip": "203.0.113.7", **fields}
    ids = [record(session, "login.success", details={"n": n}, **fields).id for n in range(count)]
    session.commit()
    return ids


def tamper(session: Session, sql: str, **params: Any) -> None:
    """Run raw SQL behind the audit service's back, as an attacker with database access would."""
    typed = [bindparam(name, type_=TYPED_PARAMS[name]) for name in params if name in TYPED_PARAMS]
    session.execute(text(sql).bindparams(*typed), params)
    session.commit()


def raw_details(session: Session, entry_id: int) -> bytes:
    query = text("SELECT details FROM audit_entries WHERE id = :id")
    return bytes(session.execute(query, {"id": entry_id}).scalar_one())


def check(session: Session, keys: RootKeys) -> VerifyResult:
    return verify(session, keys.audit_verify)
