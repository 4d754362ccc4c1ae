"""Password-reset requests queued for the worker.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reset_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email", sa.LargeBinary(), nullable=True),
        sa.Column("ip", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_keys.id"],
                                name=op.f("fk_reset_requests_data_key_id_data_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reset_requests")),
    )
    op.create_index(op.f("ix_reset_requests_created_at"), "reset_requests", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reset_requests_created_at"), table_name="reset_requests")
    op.drop_table("reset_requests")
