"""Breach notices: incidents (the register), notices, receipts, subscriptions, subprocessor changes and
objections; users' mobile numbers; extra mail headers (List-Unsubscribe) in the outbox.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('data_key_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('aware_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=36), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('all_customers', sa.Boolean(), nullable=False),
    sa.Column('authority_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('customers_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('title', sa.LargeBinary(), nullable=False),
    sa.Column('nature', sa.LargeBinary(), nullable=False),
    sa.Column('people_affected', sa.LargeBinary(), nullable=True),
    sa.Column('records_affected', sa.LargeBinary(), nullable=True),
    sa.Column('consequences', sa.LargeBinary(), nullable=True),
    sa.Column('measures', sa.LargeBinary(), nullable=True),
    sa.Column('contact', sa.LargeBinary(), nullable=True),
    sa.Column('authority_notification', sa.LargeBinary(), nullable=True),
    sa.Column('delay_reasons', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_incidents_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_aware_at', ['aware_at'], unique=False)

    op.create_table('subprocessor_changes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('data_key_id', sa.String(length=36), nullable=False),
    sa.Column('announced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('announced_by', sa.String(length=36), nullable=True),
    sa.Column('objections_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('subprocessor', sa.LargeBinary(), nullable=False),
    sa.Column('change', sa.LargeBinary(), nullable=False),
    sa.Column('details', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['announced_by'], ['users.id'], name=op.f('fk_subprocessor_changes_announced_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subprocessor_changes'))
    )
    op.create_table('subscriptions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('address_index', sa.String(length=64), nullable=False),
    sa.Column('data_key_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('faq', sa.Boolean(), nullable=False),
    sa.Column('subprocessors', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_version_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('address_index', name=op.f('uq_subscriptions_address_index'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_due', ['state', 'last_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_user_id'), ['user_id'], unique=False)

    op.create_table('incident_tenants',
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_tenants_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_incident_tenants_org_id_organisations')),
    sa.PrimaryKeyConstraint('incident_id', 'org_id', name=op.f('pk_incident_tenants'))
    )
    with op.batch_alter_table('incident_tenants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_tenants_org_id'), ['org_id'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('data_key_id', sa.String(length=36), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('approved_by', sa.String(length=36), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fanout_owner', sa.String(length=128), nullable=True),
    sa.Column('fanout_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fanout_done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('resent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('title', sa.LargeBinary(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_notices_approved_by_users')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_notices_created_by_users')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_notices_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_notices_state_published', ['state', 'published_at'], unique=False)

    op.create_table('subprocessor_objections',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('change_id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('data_key_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['change_id'], ['subprocessor_changes.id'], name=op.f('fk_subprocessor_objections_change_id_subprocessor_changes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_subprocessor_objections_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subprocessor_objections_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subprocessor_objections')),
    sa.UniqueConstraint('change_id', 'org_id', name='uq_subprocessor_objections_change_org')
    )
    with op.batch_alter_table('subprocessor_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subprocessor_objections_change_id'), ['change_id'], unique=False)

    op.create_table('notice_receipts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('notice_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mail_id', sa.String(length=36), nullable=True),
    sa.Column('mails', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sms_state', sa.String(length=16), nullable=True),
    sa.Column('sms_attempts', sa.Integer(), nullable=False),
    sa.Column('sms_next_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sms_owner', sa.String(length=128), nullable=True),
    sa.Column('sms_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sms_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sms_error', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_receipts_notice_id_notices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_notice_receipts_org_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_receipts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_receipts')),
    sa.UniqueConstraint('notice_id', 'user_id', name='uq_notice_receipts_notice_user')
    )
    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_notice_receipts_sms_due', ['sms_state', 'sms_next_at'], unique=False)
        batch_op.create_index('ix_notice_receipts_user', ['user_id', 'acknowledged_at'], unique=False)

    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headers', sa.LargeBinary(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone')

    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_column('headers')

    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_receipts_user')
        batch_op.drop_index('ix_notice_receipts_sms_due')

    op.drop_table('notice_receipts')
    with op.batch_alter_table('subprocessor_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subprocessor_objections_change_id'))

    op.drop_table('subprocessor_objections')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_state_published')
        batch_op.drop_index(batch_op.f('ix_notices_incident_id'))

    op.drop_table('notices')
    with op.batch_alter_table('incident_tenants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_tenants_org_id'))

    op.drop_table('incident_tenants')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_user_id'))
        batch_op.drop_index('ix_subscriptions_due')

    op.drop_table('subscriptions')
    op.drop_table('subprocessor_changes')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_aware_at')

    op.drop_table('incidents')
