"""The key store: wrapped tenant and data keys, tombstones of destroyed keys, the service's own keys.

Revision ID: k0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "k0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("master_key_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tenant_keys"),
        sa.UniqueConstraint("org_id", "version", name="uq_tenant_keys_org_id"),
    )
    op.create_index("ix_tenant_keys_org_id", "tenant_keys", ["org_id"])
    op.create_table(
        "data_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_key_version", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_data_keys"),
    )
    op.create_index("ix_data_keys_org_id", "data_keys", ["org_id"])
    op.create_table(
        "destroyed_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_destroyed_keys"),
    )
    op.create_index("ix_destroyed_keys_org_id", "destroyed_keys", ["org_id"])
    op.create_table(
        "system_keys",
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("purpose", name="pk_system_keys"),
    )


def downgrade() -> None:
    op.drop_table("system_keys")
    op.drop_index("ix_destroyed_keys_org_id", table_name="destroyed_keys")
    op.drop_table("destroyed_keys")
    op.drop_index("ix_data_keys_org_id", table_name="data_keys")
    op.drop_table("data_keys")
    op.drop_index("ix_tenant_keys_org_id", table_name="tenant_keys")
    op.drop_table("tenant_keys")
