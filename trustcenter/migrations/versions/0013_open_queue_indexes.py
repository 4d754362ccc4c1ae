"""Partial indexes for the staff queue: open requests in due order, those nobody has taken yet, and requests
nobody was assigned in any state.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OPEN = "state IN ('acknowledged', 'awaiting_requester', 'in_progress', 'submitted')"
UNASSIGNED = f"{OPEN} AND assignee_id IS NULL"


def upgrade() -> None:
    op.create_index("ix_rights_requests_open_due", "rights_requests", ["due_on", "id"],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index("ix_rights_requests_open_unassigned_due", "rights_requests", ["due_on", "id"],
                    postgresql_where=sa.text(UNASSIGNED), sqlite_where=sa.text(UNASSIGNED))
    op.create_index("ix_rights_requests_unassigned_due", "rights_requests", ["due_on", "id"],
                    postgresql_where=sa.text("assignee_id IS NULL"), sqlite_where=sa.text("assignee_id IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_rights_requests_unassigned_due", table_name="rights_requests")
    op.drop_index("ix_rights_requests_open_unassigned_due", table_name="rights_requests")
    op.drop_index("ix_rights_requests_open_due", table_name="rights_requests")
