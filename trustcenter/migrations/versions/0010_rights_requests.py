"""Rights requests: the requests, their timelines, attachments and mailed links; restriction and objection
marks on people.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rights_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("requester_id", sa.String(length=36), nullable=True),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("requester_index", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("duplicate_of", sa.String(length=36), nullable=True),
        sa.Column("assignee_id", sa.String(length=36), nullable=True),
        sa.Column("referred_org_id", sa.String(length=36), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("extension_months", sa.Integer(), nullable=False),
        sa.Column("paused_days", sa.Integer(), nullable=False),
        sa.Column("paused_since", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_7_days", sa.Boolean(), nullable=False),
        sa.Column("reminded_1_day", sa.Boolean(), nullable=False),
        sa.Column("requester_email", sa.LargeBinary(), nullable=True),
        sa.Column("requester_name", sa.LargeBinary(), nullable=True),
        sa.Column("details", sa.LargeBinary(), nullable=True),
        sa.Column("outcome", sa.LargeBinary(), nullable=True),
        sa.Column("extension_reason", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_rights_requests_assignee_id_users")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_rights_requests_org_id_organisations")),
        sa.ForeignKeyConstraint(["referred_org_id"], ["organisations.id"],
                                name=op.f("fk_rights_requests_referred_org_id_organisations")),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"], name=op.f("fk_rights_requests_requester_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_requests")),
    )
    op.create_index(op.f("ix_rights_requests_org_id"), "rights_requests", ["org_id"], unique=False)
    op.create_index("ix_rights_requests_org_received", "rights_requests", ["org_id", "received_at"], unique=False)
    op.create_index("ix_rights_requests_queue", "rights_requests", ["state", "due_on", "id"], unique=False)
    op.create_index("ix_rights_requests_due", "rights_requests", ["due_on", "id"], unique=False)
    op.create_index(op.f("ix_rights_requests_referred_org_id"), "rights_requests", ["referred_org_id"], unique=False)
    op.create_index(op.f("ix_rights_requests_requester_id"), "rights_requests", ["requester_id"], unique=False)
    op.create_index(op.f("ix_rights_requests_requester_index"), "rights_requests", ["requester_index"], unique=False)
    op.create_table(
        "request_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("actor_label", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("state_from", sa.String(length=24), nullable=True),
        sa.Column("state_to", sa.String(length=24), nullable=True),
        sa.Column("visible_to_requester", sa.Boolean(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_request_events_actor_id_users")),
        sa.ForeignKeyConstraint(["request_id"], ["rights_requests.id"],
                                name=op.f("fk_request_events_request_id_rights_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_events")),
    )
    op.create_index(op.f("ix_request_events_at"), "request_events", ["at"], unique=False)
    op.create_index(op.f("ix_request_events_request_id"), "request_events", ["request_id"], unique=False)
    op.create_table(
        "request_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["rights_requests.id"],
                                name=op.f("fk_request_links_request_id_rights_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_request_links_token_hash")),
    )
    op.create_index(op.f("ix_request_links_request_id"), "request_links", ["request_id"], unique=False)
    op.create_table(
        "request_attachments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("data_key_id", sa.String(length=36), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.LargeBinary(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["request_events.id"],
                                name=op.f("fk_request_attachments_event_id_request_events"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["rights_requests.id"],
                                name=op.f("fk_request_attachments_request_id_rights_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_attachments")),
    )
    op.create_index(op.f("ix_request_attachments_event_id"), "request_attachments", ["event_id"], unique=False)
    op.create_index(op.f("ix_request_attachments_request_id"), "request_attachments", ["request_id"], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("objections", sa.String(length=200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("objections")
        batch.drop_column("restricted_at")
    op.drop_table("request_attachments")
    op.drop_table("request_links")
    op.drop_table("request_events")
    op.drop_table("rights_requests")
