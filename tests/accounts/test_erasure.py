"""`trustcenter users erase`: crypto-shredding a person, in an order that never leaves readable data behind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from tests.conftest import Auth
from trustcenter.accounts import erasure, second_factor, service
from trustcenter.accounts.models import ERASED, AccountToken, RecoveryCode, User
from trustcenter.audit import AuditEntry
from trustcenter.crypto import CryptoError, KeyDestroyed
from trustcenter.crypto.models import DataKey, DestroyedKey
from trustcenter.extensions import session_factory

SEALED_COLUMNS = ("email", "first_name", "last_name", "username", "country", "state", "timezone", "company_name",
                  "address", "last_login_ip", "stripe_customer_id", "totp_secret")


def sealed_values(session, user_id: str) -> dict:
    """The encrypted columns as stored, ciphertexts and all."""
    row = session.execute(text(f"SELECT {', '.join(SEALED_COLUMNS)} FROM users WHERE id = :id"), {"id": user_id})
    return dict(zip(SEALED_COLUMNS, row.one()))


def fresh(app):
    return session_factory(app)()


def erase(runner, *args: str, answer: str | None = None):
    return runner.invoke(args=["users", "erase", *args], input=answer)


def test_erase_asks_first_naming_how_many_accounts_match(app, runner, people):
    person = people["a_member"]
    declined = erase(runner, person.email, answer="n\n")
    assert declined.exit_code == 1
    assert "Erase 1 account with this address (Tenant A Ltd)?" in declined.output
    session = fresh(app)
    assert session.get(User, person.user_id).first_name == "FirstAMember"
    session.close()
    accepted = erase(runner, person.email, answer="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Erased 1 account (Tenant A Ltd)" in accepted.output


def test_erase_destroys_the_key_and_leaves_the_row_in_the_erased_state(app, runner, people):
    person = people["staff"]  # has a second factor, recovery codes and a pending reset token
    session = fresh(app)
    user = session.get(User, person.user_id)
    key_id, version = user.data_key_id, user.session_version
    second_factor.replace_recovery_codes(session, user)
    service.issue_token(session, user, "reset", service.RESET_TTL)
    session.commit()
    session.close()

    result = erase(runner, person.email, "--yes")
    assert result.exit_code == 0, result.output

    session = fresh(app)
    user = session.get(User, person.user_id)
    assert (user.status, user.password_hash, user.totp_enabled) == (ERASED, None, False)
    assert user.session_version == version + 1
    assert user.email_index == erasure.erased_index(user.id)
    assert user.email_index.startswith("erased:") and len(user.email_index) <= 64
    assert sealed_values(session, user.id) == dict.fromkeys(SEALED_COLUMNS)
    assert app.extensions["keys"].is_destroyed(key_id)
    for model in (AccountToken, RecoveryCode):
        assert session.scalar(select(func.count()).select_from(model).where(model.user_id == user.id)) == 0
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.subject_id, entry.subject_type) == ("user.erased", user.id, "user")
    assert entry.details == {"via": "cli"}  # no personal value
    assert user.display_name == "Erased person"
    session.close()


def test_an_erased_person_is_signed_out_cannot_sign_in_and_shows_as_erased(app, runner, people):
    person = people["a_member"]
    client = app.test_client()
    Auth(client).login(person)
    assert client.get("/account/").status_code == 200
    assert erase(runner, person.email, "--yes").exit_code == 0
    assert client.get("/account/").status_code == 302  # the session died with the bumped session version
    response = Auth(client).login(person)
    assert response.status_code == 422 and "do not match an account" in response.get_data(as_text=True)
    staff = app.test_client()
    Auth(staff).login(people["staff"])
    page = staff.get(f"/staff/customers/{person.org_id}")
    assert page.status_code == 200 and "Erased person" in page.get_data(as_text=True)
    assert person.email not in page.get_data(as_text=True)


def test_org_limits_the_erasure_to_one_organisation(app, runner, people):
    person = people["a_member"]
    session = fresh(app)
    other_org = service.organisation_named(session, "Tenant B Ltd")
    twin_id = service.create_user(session, other_org, person.email, "customer_member", first_name="Twin").id
    session.commit()
    session.close()
    assert "Erase 2 accounts with this address (Tenant A Ltd, Tenant B Ltd)?" in erase(
        runner, person.email, answer="n\n").output
    result = erase(runner, person.email, "--org", "Tenant B Ltd", "--yes")
    assert result.exit_code == 0 and "Erased 1 account (Tenant B Ltd)" in result.output
    session = fresh(app)
    assert session.get(User, twin_id).status == ERASED
    assert session.get(User, person.user_id).first_name == "FirstAMember"
    session.close()


@pytest.mark.parametrize(("args", "message"), [
    (["nobody@nowhere.example", "--yes"], "No account has that e-mail address"),
    (["a.member@a.example", "--org", "Tenant B Ltd", "--yes"], "No account has that e-mail address in Tenant B Ltd"),
    (["a.member@a.example", "--org", "No Such Ltd", "--yes"], "No organisation called 'No Such Ltd'"),
])
def test_nothing_to_erase_is_a_clear_error(runner, people, args, message):
    result = erase(runner, *args)
    assert result.exit_code == 1 and message in result.output
    assert isinstance(result.exception, SystemExit)


def test_erasing_again_finds_no_one(runner, people):
    assert erase(runner, people["b_member"].email, "--yes").exit_code == 0
    again = erase(runner, people["b_member"].email, "--yes")
    assert again.exit_code == 1 and "No account has that e-mail address" in again.output


def test_a_failure_after_the_key_is_destroyed_leaves_nothing_readable_and_a_rerun_finishes(app, runner, people,
                                                                                         monkeypatch):
    person = people["b_admin"]

    def disk_full(*_args, **_kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(erasure, "scrub", disk_full)
        result = erase(runner, person.email, "--yes")
    assert result.exit_code == 1 and "Run the same command again to finish" in result.output
    session = fresh(app)
    user = session.get(User, person.user_id)
    assert user.status == "active"  # the row was not scrubbed …
    with pytest.raises(KeyDestroyed, match="has been destroyed"):
        _ = user.first_name  # … but nothing in it can be read
    session.close()
    finished = erase(runner, person.email, "--yes")  # the row still answers to the address
    assert finished.exit_code == 0, finished.output
    session = fresh(app)
    assert session.get(User, person.user_id).status == ERASED
    session.close()


def test_a_key_that_cannot_be_destroyed_changes_nothing(app, runner, people, monkeypatch):
    person = people["b_admin"]

    def refuse(_key_id: str) -> None:
        raise CryptoError("the key store is read-only")

    monkeypatch.setattr(app.extensions["keys"], "destroy_data_key", refuse)
    result = erase(runner, person.email, "--yes")
    assert result.exit_code == 1 and "was not erased, nothing of it changed" in result.output
    session = fresh(app)
    user = session.get(User, person.user_id)
    assert (user.status, user.first_name) == ("active", "FirstBAdmin")
    session.close()


def test_apply_recorded_erasures_scrubs_rows_whose_key_the_key_store_destroyed(app, people):
    person = people["a_admin"]
    session = fresh(app)
    user = session.get(User, person.user_id)
    app.extensions["keys"].destroy_data_key(user.data_key_id)  # as if the row came back from an older backup
    assert erasure.apply_recorded_erasures(session, service.Actor()) == 1
    session.commit()
    assert erasure.apply_recorded_erasures(session, service.Actor()) == 0
    session.close()
    session = fresh(app)
    user = session.get(User, person.user_id)
    assert (user.status, user.password_hash, user.email) == (ERASED, None, None)
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.subject_id, entry.details) == ("user.erased", user.id, {"via": "restore"})
    assert service.users_with_email(session, person.email) == []
    session.close()


def test_erased_rows_destroy_their_keys_again_when_the_key_store_comes_back_older(app, runner, people):
    person, keys = people["b_member"], app.extensions["keys"]
    session = fresh(app)
    key_id = session.get(User, person.user_id).data_key_id
    session.close()
    with keys.transaction() as store:
        row = store.get(DataKey, key_id)
        saved = {column.name: getattr(row, column.name) for column in DataKey.__table__.columns}
    assert erase(runner, person.email, "--yes").exit_code == 0
    with keys.transaction() as store:  # the key store restored from a copy taken before the erasure
        store.delete(store.get(DestroyedKey, key_id))
        store.add(DataKey(**saved))
    keys.forget()
    assert not keys.is_destroyed(key_id)
    session = fresh(app)
    assert erasure.destroy_keys_of_erased_rows(session) == 1
    assert keys.is_destroyed(key_id)
    assert erasure.destroy_keys_of_erased_rows(session) == 0
    session.close()
