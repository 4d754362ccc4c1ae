"""Live evidence: runs of the self-checks, each check's result, and the worker's heartbeat.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("follows", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_runs")),
        sa.UniqueConstraint("follows", name=op.f("uq_evidence_runs_follows")),
    )
    op.create_index(op.f("ix_evidence_runs_finished_at"), "evidence_runs", ["finished_at"], unique=False)
    op.create_table(
        "evidence_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("check_key", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=400), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["evidence_runs.id"], name=op.f("fk_evidence_results_run_id_evidence_runs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_results")),
    )
    op.create_index("ix_evidence_results_check", "evidence_results", ["check_key", "id"], unique=False)
    op.create_index(op.f("ix_evidence_results_run_id"), "evidence_results", ["run_id"], unique=False)
    op.create_table(
        "worker_heartbeats",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("worker_heartbeats")
    op.drop_index(op.f("ix_evidence_results_run_id"), table_name="evidence_results")
    op.drop_index("ix_evidence_results_check", table_name="evidence_results")
    op.drop_table("evidence_results")
    op.drop_index(op.f("ix_evidence_runs_finished_at"), table_name="evidence_runs")
    op.drop_table("evidence_runs")
