"""Exports of personal data and their sealed chunks.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=True),
        sa.Column("requested_by", sa.String(length=36), nullable=True),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("lease_owner", sa.String(length=120), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_exports_org_id_organisations")),
        sa.ForeignKeyConstraint(["request_id"], ["rights_requests.id"],
                                name=op.f("fk_exports_request_id_rights_requests")),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], name=op.f("fk_exports_requested_by_users")),
        sa.ForeignKeyConstraint(["subject_id"], ["users.id"], name=op.f("fk_exports_subject_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    op.create_index("ix_exports_state_created", "exports", ["state", "created_at"], unique=False)
    op.create_index(op.f("ix_exports_org_id"), "exports", ["org_id"], unique=False)
    op.create_index(op.f("ix_exports_request_id"), "exports", ["request_id"], unique=False)
    op.create_index(op.f("ix_exports_subject_id"), "exports", ["subject_id"], unique=False)
    op.create_table(
        "export_chunks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("export_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["export_id"], ["exports.id"], name=op.f("fk_export_chunks_export_id_exports"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_chunks")),
        sa.UniqueConstraint("export_id", "seq", name=op.f("uq_export_chunks_export_id")),
    )
    op.create_index(op.f("ix_export_chunks_export_id"), "export_chunks", ["export_id"], unique=False)


def downgrade() -> None:
    op.drop_table("export_chunks")
    op.drop_table("exports")
