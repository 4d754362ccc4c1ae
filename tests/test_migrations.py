"""Alembic migrations match the models and run both ways on every database."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from trustcenter import migrate
from trustcenter.db import make_engine
from trustcenter.models import metadata


def test_models_and_migrations_agree(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_back(database_url):
    engine = make_engine(database_url)
    try:
        migrate.downgrade(engine, "base")
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def test_0009_moves_keys_seals_names_and_reindexes_addresses(tmp_path):
    """A database at 0008 with data written the old way: keys in it, names in clear, case-folded indexes."""
    import datetime as dt
    import hashlib
    import hmac
    import unicodedata
    import uuid

    import sqlalchemy as sa
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from trustcenter.crypto import KeyDestroyed, Place, aead
    from trustcenter.crypto.aead import Header
    from trustcenter.crypto.keys import generate_development_keys, load_root_keys
    from trustcenter.crypto.keystore import KeyService

    generate_development_keys(tmp_path / "keys")
    root = load_root_keys({}, tmp_path / "keys", production=False)
    main, store = make_engine(f"sqlite:///{tmp_path / 'main.db'}"), make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    migrate.upgrade(main, None, "0008")
    now, master = dt.datetime.now(dt.timezone.utc), root.master.current_id
    org_id, tenant_raw = str(uuid.uuid4()), aead.new_key()

    def old_user(connection, email: str, destroyed: bool = False) -> tuple[str, str]:
        user_id, key_id, raw = str(uuid.uuid4()), str(uuid.uuid4()), aead.new_key()
        wrapped = aead.seal(AESGCM(tenant_raw), Header(uuid.UUID(key_id), 1), raw,
                            Place("data_keys", "wrapped", key_id))
        connection.execute(sa.text("INSERT INTO data_keys (id, org_id, tenant_key_version, purpose, wrapped, "
                                   "created_at, destroyed_at) VALUES (:i, :o, 1, 'person', :w, :t, :d)"),
                           {"i": key_id, "o": org_id, "w": None if destroyed else wrapped, "t": now,
                            "d": now if destroyed else None})
        index = hmac.new(root.blind_index, email.strip().casefold().encode(), hashlib.sha256).hexdigest()
        sealed = aead.seal(AESGCM(raw), Header(uuid.UUID(key_id), 1), email.encode(),
                           Place("users", "email", user_id))
        connection.execute(sa.text(
            "INSERT INTO users (id, org_id, data_key_id, role, status, email_index, totp_enabled, totp_last_step, "
            "session_version, created_at, email) VALUES (:i, :o, :k, 'customer_member', 'active', :x, false, 0, 1, "
            ":t, :e)"), {"i": user_id, "o": org_id, "k": key_id, "x": index, "t": now, "e": sealed})
        return user_id, key_id

    with main.begin() as connection:
        connection.execute(sa.text("INSERT INTO organisations (id, name, kind, created_at) "
                                   "VALUES (:i, 'Acme Ltd', 'customer', :t)"), {"i": org_id, "t": now})
        tenant_id = uuid.uuid5(uuid.NAMESPACE_URL, f"tenant:{org_id}:1")
        connection.execute(sa.text("INSERT INTO tenant_keys (org_id, version, state, master_key_id, wrapped, "
                                   "created_at) VALUES (:o, 1, 'active', :m, :w, :t)"),
                           {"o": org_id, "m": master, "t": now, "w": aead.seal(
                               root.master.aead(master), Header(tenant_id, 1), tenant_raw,
                               Place("tenant_keys", "wrapped", f"{org_id}/v1"))})
        alice, _ = old_user(connection, "Alice@ACME.example")
        _, erased_key = old_user(connection, "carol@acme.example", destroyed=True)
        composed = unicodedata.normalize("NFC", "jos\u00e9@acme.example")
        jose_nfc, _ = old_user(connection, composed)
        jose_nfd, _ = old_user(connection, unicodedata.normalize("NFD", composed))  # one address under the new rule

    keys = KeyService(root, store, cache_seconds=0)
    try:
        migrate.upgrade(main, keys)
        migrate.upgrade(main, keys)  # a second run changes nothing
        assert migrate.current_revisions(main) == tuple(migrate.head_revisions())
        assert not [t for t in sa.inspect(main).get_table_names() if t.startswith("_alembic_tmp")]
        assert {"data_keys", "tenant_keys"}.isdisjoint(sa.inspect(main).get_table_names())
        with main.connect() as connection:
            key_id, blob = connection.execute(sa.text("SELECT data_key_id, name FROM organisations")).one()
            rows = dict(connection.execute(sa.text("SELECT id, email_index FROM users")).all())
        assert keys.open(bytes(blob), Place("organisations", "name", org_id)) == b"Acme Ltd"
        assert b"Acme" not in bytes(blob) and keys.data_key_org(key_id) == org_id
        assert rows[alice] == keys.blind_index("alice@acme.example")  # the new rule, the new index
        # One of the two takes the new index; the other keeps its old one for an operator to resolve.
        assert sorted([rows[jose_nfc] == keys.blind_index(composed), rows[jose_nfd] == keys.blind_index(composed)]) \
            == [False, True]
        with pytest.raises(KeyDestroyed):
            keys.data_aead(erased_key)
    finally:
        main.dispose()
        store.dispose()
