"""Data keys replaced by a rotation are kept, retired, for as long as backups are.

Revision ID: k0002
Revises: k0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "k0002"
down_revision = "k0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_keys") as batch:
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("replaced_by", sa.String(length=36), nullable=True))
        batch.create_index("ix_data_keys_replaced_by", ["replaced_by"])


def downgrade() -> None:
    with op.batch_alter_table("data_keys") as batch:
        batch.drop_index("ix_data_keys_replaced_by")
        batch.drop_column("replaced_by")
        batch.drop_column("retired_at")
