"""Signed attestations: what each covers, its code and hash, and the sealed PDF.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attestations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=True),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content_version", sa.String(length=64), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=36), nullable=True),
        sa.Column("signer", sa.String(length=200), nullable=False),
        sa.Column("signer_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("prepared_for", sa.LargeBinary(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_attestations_org_id_organisations")),
        sa.ForeignKeyConstraint(["request_id"], ["rights_requests.id"],
                                name=op.f("fk_attestations_request_id_rights_requests")),
        sa.ForeignKeyConstraint(["issued_by"], ["users.id"], name=op.f("fk_attestations_issued_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestations")),
        sa.UniqueConstraint("code", name=op.f("uq_attestations_code")),
        sa.UniqueConstraint("sha256", name=op.f("uq_attestations_sha256")),
    )
    op.create_index("ix_attestations_kind_org_issued", "attestations", ["kind", "org_id", "issued_at"], unique=False)
    op.create_index(op.f("ix_attestations_cache_key"), "attestations", ["cache_key"], unique=False)
    op.create_index(op.f("ix_attestations_org_id"), "attestations", ["org_id"], unique=False)
    op.create_index(op.f("ix_attestations_request_id"), "attestations", ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_attestations_request_id"), table_name="attestations")
    op.drop_index(op.f("ix_attestations_org_id"), table_name="attestations")
    op.drop_index(op.f("ix_attestations_cache_key"), table_name="attestations")
    op.drop_index("ix_attestations_kind_org_issued", table_name="attestations")
    op.drop_table("attestations")
