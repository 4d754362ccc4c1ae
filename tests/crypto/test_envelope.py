"""Envelope encryption end to end: sealing, binding, wrong keys, shredding, rotation."""

from __future__ import annotations

import os

import base64
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from trustcenter.accounts import service
from trustcenter.accounts.models import User
from trustcenter.crypto import (
    KEYS_INFO, DecryptionFailed, KeyDestroyed, KeyNotFound, MalformedCiphertext, keys_of, load_root_keys,
)
from trustcenter.crypto import rotation
from trustcenter.crypto.keys import KeyConfigurationError, new_master_key_entry
from trustcenter.crypto.keystore import KeyService
from trustcenter.crypto.models import DataKey, DestroyedKey, TenantKey


def fresh(session, user_id: str) -> User:
    """Reload a user from the database, dropping cached plaintext and keys."""
    session.expunge_all()
    keys_of(session).forget()
    return session.get(User, user_id)


def tenant_keys(session, org_id: str) -> list[TenantKey]:
    with keys_of(session).transaction() as store:
        return list(store.scalars(select(TenantKey).where(TenantKey.org_id == org_id)))


def test_fields_round_trip_and_are_sealed_in_storage(session, people):
    user = fresh(session, people["a_admin"].user_id)
    assert user.first_name == "FirstAAdmin"
    assert user.address.startswith("1 Secret Street")
    raw = session.execute(text("SELECT first_name FROM users WHERE id = :id"), {"id": user.id}).scalar()
    assert b"FirstAAdmin" not in bytes(raw)
    assert bytes(raw)[0] == 1  # format version; the key id follows
    assert bytes(raw)[1:17] == uuid.UUID(user.data_key_id).bytes


def test_plaintext_can_never_be_written_to_an_encrypted_column(session, people):
    with pytest.raises(Exception, match="plain value"):
        session.execute(update(User).where(User.id == people["a_admin"].user_id).values(first_name_sealed="Eve"))
    session.rollback()
    user = session.get(User, people["a_admin"].user_id)
    user.first_name_sealed = "Eve"  # around the plain attribute, straight to the column
    with pytest.raises(Exception, match="plain value"):
        session.flush()


def test_ciphertext_copied_to_another_row_fails_naming_the_key(session, people):
    a, b = people["a_admin"], people["a_member"]
    blob = session.execute(text("SELECT first_name FROM users WHERE id = :id"), {"id": a.user_id}).scalar()
    session.execute(text("UPDATE users SET last_name = :blob WHERE id = :id"), {"blob": blob, "id": a.user_id})
    session.execute(text("UPDATE users SET first_name = :blob WHERE id = :id"), {"blob": blob, "id": b.user_id})
    session.commit()
    victim = fresh(session, b.user_id)
    with pytest.raises((DecryptionFailed, KeyNotFound)):
        _ = victim.first_name
    same_row_other_column = fresh(session, a.user_id)
    with pytest.raises(DecryptionFailed) as error:
        _ = same_row_other_column.last_name
    assert same_row_other_column.data_key_id in str(error.value)
    assert "users.last_name" in str(error.value)


def test_tampered_ciphertext_fails(session, people):
    user_id = people["b_member"].user_id
    blob = bytearray(session.execute(text("SELECT address FROM users WHERE id = :id"), {"id": user_id}).scalar())
    blob[-1] ^= 1
    session.execute(text("UPDATE users SET address = :b WHERE id = :id"), {"b": bytes(blob), "id": user_id})
    session.commit()
    with pytest.raises(DecryptionFailed):
        _ = fresh(session, user_id).address
    session.execute(text("UPDATE users SET address = :b WHERE id = :id"), {"b": b"\x01short", "id": user_id})
    session.commit()
    with pytest.raises(MalformedCiphertext):
        _ = fresh(session, user_id).address


def test_wrong_master_key_fails_naming_the_key(app, session, people, tmp_path):
    keys = keys_of(session)
    wrong_id = keys.root.master.current_id
    other_bytes = new_master_key_entry().split(":", 1)[1]
    wrong = load_root_keys({"TRUSTCENTER_MASTER_KEY": f"{wrong_id}:{other_bytes}"},
                           Path(app.instance_path) / "keys", production=False)
    impostor = KeyService(wrong, keys.engine)
    user = fresh(session, people["a_admin"].user_id)
    with pytest.raises(DecryptionFailed) as error:
        impostor.data_aead(user.data_key_id)
    assert "tenant_keys.wrapped" in str(error.value)


def test_missing_master_key_is_named(app, session, people):
    with keys_of(session).transaction() as store:
        store.execute(update(TenantKey).where(TenantKey.org_id == people["a_admin"].org_id)
                      .values(master_key_id="mk-retired-2019"))
    keys_of(session).forget()
    with pytest.raises(KeyNotFound, match="master key mk-retired-2019"):
        _ = fresh(session, people["a_admin"].user_id).first_name


def test_shredding_one_person_leaves_colleagues_readable(session, people):
    gone, kept = people["a_member"], people["a_admin"]
    user = fresh(session, gone.user_id)
    keys_of(session).destroy_data_key(user.data_key_id)
    with pytest.raises(KeyDestroyed, match="destroyed"):
        _ = fresh(session, gone.user_id).first_name
    assert fresh(session, kept.user_id).first_name == "FirstAAdmin"
    with keys_of(session).transaction() as store:  # the key itself is gone from the key store
        assert store.get(DataKey, user.data_key_id) is None
        assert store.get(DestroyedKey, user.data_key_id) is not None


def test_shredding_a_tenant_leaves_other_tenants_readable(session, people):
    assert keys_of(session).destroy_tenant(people["a_admin"].org_id) == 3  # two people and the tenant's own
    for key in ("a_admin", "a_member"):
        with pytest.raises(KeyDestroyed):
            _ = fresh(session, people[key].user_id).email
    assert fresh(session, people["b_admin"].user_id).email == people["b_admin"].email
    with keys_of(session).transaction() as store:
        assert not store.scalars(select(DataKey).where(DataKey.org_id == people["a_admin"].org_id)).all()
    assert all(key.wrapped is None for key in tenant_keys(session, people["a_admin"].org_id))


def test_rotate_master_rewraps_tenant_keys_and_old_master_can_go(app, session, people, monkeypatch):
    keys = keys_of(session)
    old_ring = keys.root.master
    new_entry = new_master_key_entry()
    new_id = new_entry.split(":")[0]
    old_entries = ",".join(f"{k}:{base64.urlsafe_b64encode(v).decode()}" for k, v in old_ring.keys.items())
    both = load_root_keys({"TRUSTCENTER_MASTER_KEY": f"{new_entry},{old_entries}"},
                          Path(app.instance_path) / "keys", production=False)
    assert KeyService(both, keys.engine).rewrap_tenant_keys() >= 3
    with keys.transaction() as store:
        assert set(store.scalars(select(TenantKey.master_key_id)).all()) == {new_id}
    only_new = load_root_keys({"TRUSTCENTER_MASTER_KEY": new_entry},
                              Path(app.instance_path) / "keys", production=False)
    session.info[KEYS_INFO] = KeyService(only_new, keys.engine)  # as after a restart without the old key
    assert fresh(session, people["b_admin"].user_id).first_name == "FirstBAdmin"


def test_rotate_tenant_reencrypts_rows_and_resumes_after_interruption(session, people):
    keys = keys_of(session)
    org_id = people["a_admin"].org_id
    before = {p: fresh(session, people[p].user_id).data_key_id for p in ("a_admin", "a_member")}
    old_blob = session.execute(text("SELECT first_name FROM users WHERE id = :id"),
                               {"id": people["a_admin"].user_id}).scalar()
    # First run "crashes" after one person.
    target = rotation.start_or_resume(keys, org_id)
    pending = rotation.pending_data_keys(keys, org_id, target)
    assert len(pending) == 3  # two people and the tenant's own key (its name)
    rotation.rekey_one(session, pending[0], target)
    # Old ciphertexts stay readable while the rotation is half done.
    assert fresh(session, people["a_member"].user_id).last_name == "LastAMember"
    assert fresh(session, people["a_admin"].user_id).last_name == "LastAAdmin"
    # The second run resumes: same target version, only the remaining person.
    resumed = rotation.start_or_resume(keys, org_id)
    assert resumed == target == 2
    assert len(rotation.pending_data_keys(keys, org_id, target)) == 2
    rotation.rotate_tenant(session, org_id)
    for p in ("a_admin", "a_member"):
        user = fresh(session, people[p].user_id)
        assert user.data_key_id != before[p]
        assert user.email == people[p].email
    new_blob = session.execute(text("SELECT first_name FROM users WHERE id = :id"),
                               {"id": people["a_admin"].user_id}).scalar()
    assert bytes(new_blob) != bytes(old_blob)
    assert dict(keys.tenant_versions(org_id)) == {1: "retired", 2: "active"}
    assert fresh(session, people["b_admin"].user_id).first_name == "FirstBAdmin"
    assert fresh(session, people["a_admin"].user_id).org.name == "Tenant A Ltd"


def test_blind_index_is_keyed_and_the_address_rule_normalises(session, people):
    root = keys_of(session).root
    assert root.blind_index_of("a.admin@a.example") != root.blind_index_of("a.admin@a.example ")  # raw HMAC
    assert service.users_with_email(session, " A.ADMIN@A.Example ")[0].id == people["a_admin"].user_id
    assert len(root.blind_index_of("x")) == 64


def test_production_refuses_development_or_missing_keys(tmp_path):
    from trustcenter.crypto.keys import generate_development_keys

    with pytest.raises(KeyConfigurationError, match="TRUSTCENTER_MASTER_KEY is not set"):
        load_root_keys({}, tmp_path, production=True)
    generate_development_keys(tmp_path)
    with pytest.raises(KeyConfigurationError, match="development key"):
        load_root_keys({}, tmp_path, production=True)


def test_production_refuses_development_index_and_audit_keys_behind_a_real_master_key(tmp_path):
    from trustcenter.crypto.keys import (
        AUDIT_ENV, AUDIT_FILE, INDEX_ENV, INDEX_FILE, MASTER_ENV, MASTER_FILE, encode_key,
        generate_development_keys, new_master_key_entry,
    )

    generate_development_keys(tmp_path)
    real = {MASTER_ENV: new_master_key_entry(), INDEX_ENV: encode_key(os.urandom(32)),
            AUDIT_ENV: encode_key(os.urandom(32))}
    load_root_keys(real, tmp_path, production=True)  # every key configured: fine
    for missing in (INDEX_ENV, AUDIT_ENV):
        with pytest.raises(KeyConfigurationError, match=f"{missing} is a development key"):
            load_root_keys({k: v for k, v in real.items() if k != missing}, tmp_path, production=True)
    # Files generated before they were marked: recognised by the development master key beside them.
    for name in (INDEX_FILE, AUDIT_FILE):
        path = tmp_path / name
        path.write_text(path.read_text().removeprefix("dev:"))
    with pytest.raises(KeyConfigurationError, match=f"{INDEX_ENV} is a development key"):
        load_root_keys({MASTER_ENV: real[MASTER_ENV], AUDIT_ENV: real[AUDIT_ENV]}, tmp_path, production=True)
    # Copied from the file into the environment (`export X=$(cat file)`): still the same key.
    copied = (tmp_path / AUDIT_FILE).read_text().strip()
    with pytest.raises(KeyConfigurationError, match=f"{AUDIT_ENV} is a development key"):
        load_root_keys({**real, AUDIT_ENV: copied}, tmp_path, production=True)
    # A production key folder (no development master key) may hold the index and audit keys.
    (tmp_path / MASTER_FILE).write_text(real[MASTER_ENV] + "\n")
    load_root_keys({}, tmp_path, production=True)


def test_the_service_key_is_not_rotated_per_tenant(session, people):
    from trustcenter.crypto import CryptoError
    from trustcenter.crypto.keystore import SYSTEM_TENANT

    keys_of(session).system_data_key("audit")
    with pytest.raises(CryptoError, match="master-key rotation"):
        rotation.start_or_resume(keys_of(session), SYSTEM_TENANT)


def test_a_write_prepared_before_a_rotation_fails_loudly_and_loses_nothing(session, people):
    from sqlalchemy.orm.exc import StaleDataError

    from tests.conftest import new_session

    user_id, org_id = people["a_member"].user_id, people["a_member"].org_id
    editor = new_session()
    stale = editor.get(User, user_id)
    assert stale.first_name == "FirstAMember"
    rotation.rotate_tenant(session, org_id)  # moves the row to a new data key and deletes the old one
    stale.first_name = "Overwritten"
    # This process forgot the old key: sealing refuses. Another process with the key still cached seals,
    # and then the UPDATE's check of the loaded data_key_id refuses.
    with pytest.raises((KeyNotFound, StaleDataError)):
        editor.commit()
    editor.close()
    assert fresh(session, user_id).first_name == "FirstAMember"


def test_an_erasure_that_loaded_the_row_before_a_rotation_still_erases_it(session, people):
    from tests.conftest import new_session
    from trustcenter.accounts import erasure
    from trustcenter.accounts.service import Actor

    user_id, org_id = people["a_member"].user_id, people["a_member"].org_id
    eraser = new_session()
    loaded = eraser.get(User, user_id)
    rotation.rotate_tenant(session, org_id)
    erasure.erase_user(eraser, loaded, Actor())  # the row moved: the new key is destroyed too
    eraser.close()
    user = fresh(session, user_id)
    assert user.status == "erased" and user.email is None and user.first_name is None
    assert keys_of(session).is_destroyed(user.data_key_id)


def test_rotation_leaves_a_destroyed_key_alone(session, people):
    user_id, org_id = people["a_member"].user_id, people["a_member"].org_id
    key_id = fresh(session, user_id).data_key_id
    keys_of(session).destroy_data_key(key_id)  # erased, row not yet scrubbed
    rotation.rotate_tenant(session, org_id)
    assert fresh(session, user_id).data_key_id == key_id  # not re-sealed under a live key
    with pytest.raises(KeyDestroyed):
        _ = fresh(session, user_id).email


def test_another_process_with_the_old_key_cached_is_refused_by_the_version_check(session, people):
    from sqlalchemy.orm.exc import StaleDataError

    from tests.conftest import new_session

    user_id, org_id = people["a_member"].user_id, people["a_member"].org_id
    keys = keys_of(session)
    editor = new_session()
    editor.info[KEYS_INFO] = KeyService(keys.root, keys.engine)  # its own cache, as in another process
    stale = editor.get(User, user_id)
    assert stale.first_name == "FirstAMember"  # the old key is now cached over there
    rotation.rotate_tenant(session, org_id)
    stale.first_name = "Overwritten"
    with pytest.raises(StaleDataError):
        editor.commit()
    editor.close()
    assert fresh(session, user_id).first_name == "FirstAMember"


def old_blob(session, user_id: str, column: str = "email") -> bytes:
    """A ciphertext as a backup taken now would hold it."""
    return bytes(session.execute(text(f"SELECT {column} FROM users WHERE id = :id"), {"id": user_id}).scalar())


def test_backups_from_before_a_rotation_stay_readable_until_retention(session, people):
    import datetime as dt

    from trustcenter.crypto import Place

    user_id, org_id = people["a_admin"].user_id, people["a_admin"].org_id
    before = old_blob(session, user_id)
    rotation.rotate_tenant(session, org_id)
    keys = keys_of(session)
    keys.forget()
    assert keys.open(before, Place("users", "email", user_id)) == people["a_admin"].email.encode()
    assert keys.purge_retired(dt.timedelta(days=35)) == 0  # retired just now: kept
    assert keys.purge_retired(dt.timedelta(seconds=-1)) == 3  # past retention: gone, with the old tenant key
    keys.forget()
    with pytest.raises(KeyNotFound):
        keys.open(before, Place("users", "email", user_id))
    assert dict(keys.tenant_versions(org_id)) == {1: "retired", 2: "active"}
    assert all(key.wrapped is None for key in tenant_keys(session, org_id) if key.version == 1)
    assert fresh(session, user_id).email == people["a_admin"].email  # today's data is untouched


def test_erasing_a_person_also_destroys_the_keys_rotations_retired(session, people):
    from trustcenter.crypto import Place

    user_id, org_id = people["a_member"].user_id, people["a_member"].org_id
    before = old_blob(session, user_id)
    rotation.rotate_tenant(session, org_id)
    rotation.rotate_tenant(session, org_id)  # two generations of retired keys
    keys = keys_of(session)
    keys.destroy_data_key(fresh(session, user_id).data_key_id)
    keys.forget()
    with pytest.raises(KeyDestroyed):  # a backup from before both rotations is erased too
        keys.open(before, Place("users", "email", user_id))
    assert fresh(session, people["a_admin"].user_id).email == people["a_admin"].email


def test_keys_purge_retired_command(runner, session, people):
    rotation.rotate_tenant(session, people["a_admin"].org_id)
    assert "Deleted 0 data key(s)" in runner.invoke(args=["keys", "purge-retired"]).output
    result = runner.invoke(args=["keys", "purge-retired", "--days", "0"])
    assert result.exit_code == 0 and "Deleted 3 data key(s) retired more than 0 day(s) ago." in result.output


def test_root_keys_never_show_their_bytes_in_a_repr(tmp_path):
    from trustcenter.crypto.keys import generate_development_keys, load_root_keys

    generate_development_keys(tmp_path)
    root = load_root_keys({}, tmp_path, production=False)
    shown = repr(root) + repr(root.master) + str(root)
    secrets = [*root.master.keys.values(), root.blind_index]
    for secret in secrets:
        for form in (repr(secret), secret.hex(), base64.b64encode(secret).decode()):
            assert form not in shown
    assert root.master.current_id in shown  # ids are not secret and help operators
