"""Evidence runs, each check's stored result, and the worker's heartbeat.

Nothing here holds personal data: results carry counts, table and column
names, settings and times, never a value read from a sealed column.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trustcenter.db import Base, utcnow

SCHEDULE, STAFF = "schedule", "staff"


class EvidenceRun(Base):
    """One run of every check, by the worker's schedule or on demand by staff."""

    __tablename__ = "evidence_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule or staff
    # A scheduled run claims its place by naming the run it follows (unique): of several workers that
    # find the last run old enough at the same moment, one insert wins and the others run nothing.
    follows: Mapped[int | None] = mapped_column(Integer, unique=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class EvidenceResult(Base):
    """What one check found in one run."""

    __tablename__ = "evidence_results"
    __table_args__ = (Index("ix_evidence_results_check", "check_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("evidence_runs.id", ondelete="CASCADE"), index=True)
    check_key: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))  # passing, failing, not_checked
    summary: Mapped[str] = mapped_column(String(400))
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON text
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WorkerHeartbeat(Base):
    """When a worker last went round its loop; one row per kind of loop ("worker")."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    beat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
