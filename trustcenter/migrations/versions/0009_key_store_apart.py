"""Keys move to the key store; organisation names are sealed; e-mail indexes follow the one address rule.

- tenant_keys and data_keys move to the key store (TRUSTCENTER_KEYSTORE_URL);
  destroyed data keys become tombstones there, and the service's own data
  keys are recorded by purpose.
- organisations.name becomes a ciphertext under a data key of the tenant's own,
  with a blind index (name_index) for uniqueness and lookup.
- users.email is re-normalised (trustcenter.addresses) and its blind index
  recomputed, since the index is now an HMAC of the normalised address as is.

Run through `trustcenter db upgrade`, which hands over the key service.
Not reversible: the keys live elsewhere afterwards.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    keys = context.config.attributes.get("keys")
    has_data = any(bind.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar()
                   for table in ("tenant_keys", "data_keys", "organisations", "users"))
    if has_data and keys is None:
        raise RuntimeError("this migration moves keys to the key store: run it with `trustcenter db upgrade`")
    if keys is not None:
        _move_keys(bind, keys)
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_data_key_id_data_keys", type_="foreignkey")
    with op.batch_alter_table("reset_requests") as batch:
        batch.drop_constraint("fk_reset_requests_data_key_id_data_keys", type_="foreignkey")
    op.drop_table("data_keys")
    op.drop_table("tenant_keys")
    _seal_organisation_names(bind, keys)
    if keys is not None:
        _reindex_emails(bind, keys)


def _move_keys(bind: sa.Connection, keys) -> None:
    from trustcenter.crypto.models import DataKey, DestroyedKey, SystemKey, TenantKey

    when = sa.DateTime(timezone=True)  # typed, so SQLite's text timestamps come back as datetimes
    old_tenant_keys = sa.table("tenant_keys", *(sa.column(name) for name in ("org_id", "version", "state",
                               "master_key_id", "wrapped")), sa.column("created_at", when),
                               sa.column("destroyed_at", when))
    old_data_keys = sa.table("data_keys", *(sa.column(name) for name in ("id", "org_id", "tenant_key_version",
                             "purpose", "wrapped")), sa.column("created_at", when), sa.column("destroyed_at", when))
    tenant_rows = bind.execute(sa.select(old_tenant_keys)).mappings().all()
    data_rows = bind.execute(sa.select(old_data_keys).order_by(old_data_keys.c.created_at)).mappings().all()
    # Row by row, with the main database as the truth: an interrupted run, and anything the previous
    # version of the application did before this one is re-run (a key made or destroyed), is taken in.
    with keys.transaction() as store:
        for row in tenant_rows:
            found = store.scalars(sa.select(TenantKey).where(TenantKey.org_id == row["org_id"],
                                                             TenantKey.version == row["version"])).first()
            if found is None:
                store.add(TenantKey(**row))
            else:
                found.state, found.wrapped, found.destroyed_at = row["state"], row["wrapped"], row["destroyed_at"]
        for row in data_rows:
            if row["wrapped"] is None:
                store.execute(sa.delete(DataKey).where(DataKey.id == row["id"]))
                if store.get(DestroyedKey, row["id"]) is None:
                    store.add(DestroyedKey(id=row["id"], org_id=row["org_id"], destroyed_at=row["destroyed_at"]))
                continue
            if store.get(DataKey, row["id"]) is None:
                store.add(DataKey(id=row["id"], org_id=row["org_id"], tenant_key_version=row["tenant_key_version"],
                                  purpose=row["purpose"], wrapped=row["wrapped"], created_at=row["created_at"]))
            if row["org_id"] == "system" and store.get(SystemKey, row["purpose"]) is None:
                store.add(SystemKey(purpose=row["purpose"], data_key_id=row["id"]))
            store.flush()


def _seal_organisation_names(bind: sa.Connection, keys) -> None:
    from trustcenter.accounts.naming import organisation_name_key
    from trustcenter.crypto import Place

    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("data_key_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("name_index", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("name_sealed", sa.LargeBinary(), nullable=True))
    for org_id, name in bind.execute(sa.text("SELECT id, name FROM organisations")).all():
        key_id = keys.create_data_key(org_id, "tenant")
        bind.execute(sa.text("UPDATE organisations SET data_key_id = :key, name_index = :index, "
                             "name_sealed = :sealed WHERE id = :id"),
                     {"key": key_id, "index": keys.blind_index(organisation_name_key(name)), "id": org_id,
                      "sealed": keys.seal(name.encode(), key_id, Place("organisations", "name", org_id))})
    with op.batch_alter_table("organisations") as batch:
        batch.drop_constraint("uq_organisations_name", type_="unique")
        batch.drop_column("name")
        batch.alter_column("name_sealed", new_column_name="name", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("data_key_id", existing_type=sa.String(length=36), nullable=False)
        batch.alter_column("name_index", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_organisations_name_index", ["name_index"])


def _reindex_emails(bind: sa.Connection, keys) -> None:
    from trustcenter.addresses import InvalidAddress, normalise_email
    from trustcenter.crypto import CryptoError, Place

    for user_id, key_id, blob in bind.execute(sa.text("SELECT id, data_key_id, email FROM users")).all():
        place = Place("users", "email", user_id)
        try:
            email = keys.open(bytes(blob), place).decode()
            normalised = normalise_email(email)
        except CryptoError:
            continue  # erased: nothing to index
        except InvalidAddress:
            print(f"0009: user {user_id} has an address the address rule refuses; left under its old index: "
                  "correct it (the person can no longer sign in with it) or erase the account")
            continue
        values = {"id": user_id, "index": keys.blind_index(normalised), "email": bytes(blob)}
        if normalised != email:
            values["email"] = keys.seal(normalised.encode(), key_id, place)
        try:
            with bind.begin_nested():
                bind.execute(sa.text("UPDATE users SET email_index = :index, email = :email WHERE id = :id"), values)
        except sa.exc.IntegrityError:
            # Two accounts in one organisation whose addresses only the new rule makes equal (NFC, case of a
            # non-ASCII letter): the second keeps its old index, and an operator decides which one stays.
            print(f"0009: user {user_id} has the same address as a colleague under the new address rule; "
                  "left under its old index: merge or erase one of the two accounts")


def downgrade() -> None:
    """Only an empty database goes back: the keys now live in the key store, and names are sealed."""
    bind = op.get_bind()
    if any(bind.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar() for table in ("organisations", "users")):
        raise RuntimeError("0009 moved the keys to the key store and sealed organisation names; restore a "
                           "backup taken before it instead of downgrading")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_constraint("uq_organisations_name_index", type_="unique")
        batch.drop_column("name")
        batch.drop_column("name_index")
        batch.drop_column("data_key_id")
        batch.add_column(sa.Column("name", sa.String(length=200), nullable=False))
        batch.create_unique_constraint("uq_organisations_name", ["name"])
    op.create_table(
        "data_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_key_version", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_data_keys"),
    )
    op.create_index("ix_data_keys_org_id", "data_keys", ["org_id"])
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
    with op.batch_alter_table("users") as batch:
        batch.create_foreign_key("fk_users_data_key_id_data_keys", "data_keys", ["data_key_id"], ["id"])
    with op.batch_alter_table("reset_requests") as batch:
        batch.create_foreign_key("fk_reset_requests_data_key_id_data_keys", "data_keys", ["data_key_id"], ["id"])
