"""The unwrapped-key cache on the hot path: expiry, forgetting, no cache at 0, and the same binding as `open`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, event

from trustcenter.accounts.models import User
from trustcenter.crypto import KeyDestroyed, KeyNotFound, Place, keys_of
from trustcenter.crypto.fields import place_of
from trustcenter.crypto.keystore import KeyService
from trustcenter.crypto.models import DataKey


@pytest.fixture
def app_config(app_config):
    return {**app_config, "KEY_CACHE_SECONDS": 60}  # also when CI runs the suite with the cache off


def loaded(session, user_id: str) -> User:
    session.expunge_all()
    return session.get(User, user_id)


def delete_wrapped_key(keys: KeyService, key_id: str) -> None:
    """Remove a data key from the key store behind the cache's back (not `destroy_data_key`)."""
    with keys.transaction() as store:
        store.execute(delete(DataKey).where(DataKey.id == key_id))


def test_attributes_open_with_the_same_associated_data_as_place_of(session, people):
    user = loaded(session, people["a_admin"].user_id)
    keys = keys_of(session)
    for name in ("email", "first_name", "last_name"):
        blob = getattr(user, f"{name}_sealed").blob
        assert keys.open(blob, place_of(user, name)).decode() == getattr(user, name)
        assert keys.open_at(blob, place_of(user, name).encoded) == keys.open(blob, place_of(user, name))


def test_a_cached_key_serves_until_it_expires(session, people, monkeypatch):
    keys = keys_of(session)
    user = loaded(session, people["a_member"].user_id)
    clock = [1000.0]
    monkeypatch.setattr("trustcenter.crypto.keystore.time.monotonic", lambda: clock[0])
    keys.forget()
    assert user.first_name == "FirstAMember"  # unwrapped and cached at t=1000
    delete_wrapped_key(keys, user.data_key_id)
    clock[0] += keys.cache_seconds - 1
    assert loaded(session, user.id).first_name == "FirstAMember"  # still within the cache period
    clock[0] += 2
    with pytest.raises(KeyNotFound):
        _ = loaded(session, user.id).first_name  # expired: back to the key store, which no longer has it


def test_forgetting_a_key_drops_it_from_the_hot_path(session, people):
    keys = keys_of(session)
    user = loaded(session, people["b_member"].user_id)
    assert user.last_name == "LastBMember"
    delete_wrapped_key(keys, user.data_key_id)
    keys.forget(user.data_key_id)
    with pytest.raises(KeyNotFound):
        _ = loaded(session, user.id).last_name


def test_no_cache_fetches_every_key_from_the_store(session, people):
    cached = keys_of(session)
    cold = KeyService(cached.root, cached.engine, cache_seconds=0)
    user = loaded(session, people["b_admin"].user_id)
    blob, place = user.email_sealed.blob, place_of(user, "email")
    assert cold.open(blob, place).decode() == people["b_admin"].email
    delete_wrapped_key(cold, user.data_key_id)
    with pytest.raises(KeyNotFound):
        cold.open(blob, place)  # nothing was kept from the first open
    assert cached.open(blob, place).decode() == people["b_admin"].email  # the cached service still has it


def test_errors_name_the_place(session, people):
    user = loaded(session, people["a_admin"].user_id)
    with pytest.raises(Exception, match=r"users\.email\[") as error:
        keys_of(session).open(user.first_name_sealed.blob, Place("users", "email", user.id))
    assert user.data_key_id in str(error.value)


@contextmanager
def key_store_statements(keys: KeyService) -> Iterator[list[str]]:
    """The SQL statements the key store runs inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001 (event signature)
        seen.append(statement)

    event.listen(keys.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(keys.engine, "before_cursor_execute", record)


def test_a_cold_data_key_under_a_cached_tenant_key_reads_one_row(session, people):
    keys = keys_of(session)
    first, second = (loaded(session, people[name].user_id) for name in ("a_admin", "a_member"))
    keys.forget()
    assert first.first_name == "FirstAAdmin"  # caches org A's tenant key on the way
    with key_store_statements(keys) as statements:
        assert loaded(session, second.id).first_name == "FirstAMember"
    assert len([s for s in statements if "SELECT" in s.upper()]) == 1, statements


def test_many_data_keys_are_unwrapped_in_one_query(session, people):
    keys = keys_of(session)
    users = [loaded(session, people[name].user_id) for name in ("a_admin", "a_member", "b_admin", "b_member")]
    key_ids = [user.data_key_id for user in users]
    keys.forget()
    with key_store_statements(keys) as statements:
        keys.data_aeads(key_ids)
    data_key_reads = [s for s in statements if "data_keys" in s]
    assert len(data_key_reads) == 1, statements
    with key_store_statements(keys) as statements:
        names = [loaded(session, user.id).last_name for user in users]
    assert names == ["LastAAdmin", "LastAMember", "LastBAdmin", "LastBMember"]
    assert statements == []  # every key came from the cache


def test_unwrapping_together_leaves_erased_keys_to_fail_when_used(session, people):
    keys = keys_of(session)
    erased, kept = (loaded(session, people[name].user_id) for name in ("b_member", "b_admin"))
    keys.destroy_data_key(erased.data_key_id)
    keys.forget()
    keys.data_aeads([erased.data_key_id, kept.data_key_id, "00000000-0000-0000-0000-000000000000"])
    assert loaded(session, kept.id).first_name == "FirstBAdmin"
    with pytest.raises(KeyDestroyed):
        keys.data_aead(erased.data_key_id)
