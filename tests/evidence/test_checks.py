"""Each check passes on a sound deployment and fails for a real reason."""

from __future__ import annotations

import datetime as dt
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import LargeBinary, column, select, table, text, update

from tests.audit.helpers import fill, tamper
from tests.conftest import close_app
from tests.evidence.conftest import beat, details, run_now
from tests.smtp import free_port
from trustcenter import create_app
from trustcenter.backup.service import SQLITE, backup_name
from trustcenter.crypto.keys import MasterKeyRing, RootKeys
from trustcenter.crypto.models import TenantKey
from trustcenter.evidence import service
from trustcenter.evidence.models import EvidenceResult


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# -- encryption at rest ---------------------------------------------------------------------------------------

def test_sealed_columns_hold_ciphertext(app, people):
    result = run_now(app)["encryption-at-rest"]
    assert result.status == "passing", result.summary
    assert details(result)["values"] >= 7 * 5


def test_a_plaintext_value_in_a_sealed_column_fails(app, people, session):
    users = table("users", column("id"), column("email", LargeBinary))
    session.execute(update(users).where(users.c.id == people["a_member"].user_id).values(email=b"a.member@a.example"))
    session.commit()
    result = run_now(app)["encryption-at-rest"]
    assert result.status == "failing"
    assert "users.email: 1 value not ciphertext" in result.summary


def test_an_unwrapped_tenant_key_fails(app, people):
    keys = app.extensions["keys"]
    with keys.transaction() as keystore:
        keystore.execute(update(TenantKey).where(TenantKey.org_id == people["a_admin"].org_id)
                         .values(wrapped=b"\x07" * 32))
    result = run_now(app)["encryption-at-rest"]
    assert result.status == "failing"
    assert "1 tenant key not wrapped by a master key" in details(result)["problems"]


# -- keys ---------------------------------------------------------------------------------------------------

def test_development_keys_fail(app):
    result = run_now(app)["keys"]
    assert result.status == "failing"
    assert "the master key is a development key" in result.summary


def test_the_deployments_own_keys_pass_and_a_default_secret_fails(app, monkeypatch, tmp_path):
    from trustcenter.attestations import SIGNING
    from trustcenter.crypto.certificates import issue_signing_identity, load_signing_identity, write_identity

    own = RootKeys(MasterKeyRing({"mk-2026": b"k" * 32}, "mk-2026"), b"i" * 32, Ed25519PrivateKey.generate())
    monkeypatch.setattr(app.extensions["keys"], "root", own)
    result = run_now(app)["keys"]
    assert result.status == "failing" and "attestation signing CA is a development CA" in result.summary
    write_identity(tmp_path / "signing", issue_signing_identity("Cloud Stem"))
    monkeypatch.setitem(app.extensions, SIGNING, load_signing_identity({}, tmp_path / "signing", production=True))
    result = run_now(app)["keys"]
    assert result.status == "passing", result.summary
    assert "attestation signing CA is the deployment's own" in result.summary
    monkeypatch.setitem(app.config, "SECRET_KEY", "changeme")
    result = run_now(app)["keys"]
    assert result.status == "failing" and "SECRET_KEY" in result.summary


# -- HTTPS and HSTS -------------------------------------------------------------------------------------------

def test_https_fails_honestly_outside_production(app):
    result = run_now(app)["https"]
    assert result.status == "failing"
    assert result.summary == "This deployment runs in testing mode without HTTPS."


def production_like(app, monkeypatch, site: str = "https://trust.example") -> None:
    for name, value in (("ENV", "production"), ("SITE_URL", site), ("SESSION_COOKIE_SECURE", True)):
        monkeypatch.setitem(app.config, name, value)


def test_https_with_hsts_passes_in_production(app, monkeypatch):
    production_like(app, monkeypatch)
    result = run_now(app)["https"]
    assert result.status == "passing", result.summary
    assert details(result)["hsts_max_age"] >= 31536000


def test_https_behind_a_proxy_is_probed_through_the_proxy_fix(app_config, monkeypatch):
    other = create_app({**app_config, "TRUST_PROXY": True})
    try:
        production_like(other, monkeypatch)
        result = run_now(other)["https"]
        assert result.status == "passing", result.summary
        assert details(result)["trust_proxy"] is True
    finally:
        close_app(other)


def test_an_http_site_or_an_insecure_cookie_fails(app, monkeypatch):
    production_like(app, monkeypatch, "http://trust.example")
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", False)
    result = run_now(app)["https"]
    assert result.status == "failing"
    assert "SITE_URL does not start with https://" in result.summary
    assert "not marked Secure" in result.summary


# -- the audit chain ------------------------------------------------------------------------------------------

def test_an_intact_audit_log_passes_and_the_next_run_uses_its_head(app, session):
    fill(session, 3)
    first = run_now(app)["audit-chain"]
    assert first.status == "passing", first.summary
    assert details(first)["head"].startswith("3:")
    assert "no shipped head is configured and no earlier run recorded one" in first.summary
    second = run_now(app)["audit-chain"]
    assert "the head the evidence run of" in second.summary and "served as the witness" in second.summary


def test_an_altered_audit_entry_fails(app, session):
    fill(session, 3)
    tamper(session, "UPDATE audit_entries SET action = 'login.failure' WHERE id = 2")
    result = run_now(app)["audit-chain"]
    assert result.status == "failing"
    assert "broken at entry 2" in result.summary


def test_a_log_rolled_back_behind_the_shipped_head_fails(app, session, tmp_path, monkeypatch):
    fill(session, 2)
    shipped = tmp_path / "audit-head"
    shipped.write_text("7:" + "ab" * 32 + "\n")  # a head from before the rollback: entry 7 is gone
    monkeypatch.setitem(app.config, "AUDIT_WITNESS_FILE", str(shipped))
    result = run_now(app)["audit-chain"]
    assert result.status == "failing" and "rolled back" in result.summary


# -- retention and backups ------------------------------------------------------------------------------------

def put_backup(app, age: dt.timedelta) -> None:
    from pathlib import Path

    folder = Path(app.config["BACKUP_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / backup_name(now() - age, SQLITE)).write_bytes(b"SQLite format 3\x00")


def test_retention_of_35_days_and_a_fresh_backup_pass(app):
    put_backup(app, dt.timedelta(hours=3))
    result = run_now(app)["retention"]
    assert result.status == "passing", result.summary
    assert "the newest backup is 3 hours old" in result.summary


def test_an_old_newest_backup_fails(app):
    put_backup(app, dt.timedelta(days=3))
    put_backup(app, dt.timedelta(days=2))
    result = run_now(app)["retention"]
    assert result.status == "failing"
    assert result.summary == "The newest backup is 2 days old."


def test_no_backup_or_another_retention_fails(app, monkeypatch):
    monkeypatch.setitem(app.config, "BACKUP_RETENTION_DAYS", 90)
    result = run_now(app)["retention"]
    assert result.status == "failing"
    assert "Backups are kept 90 days" in result.summary and "no backup was found" in result.summary


# -- two-factor authentication --------------------------------------------------------------------------------

def test_everyone_who_sees_other_peoples_data_uses_two_factor(app, people):
    result = run_now(app)["two-factor"]
    assert result.status == "passing", result.summary
    assert "all 3 people" in result.summary


def test_a_staff_member_without_totp_fails(app, people, session):
    session.execute(text("UPDATE users SET totp_enabled = :off WHERE id = :id"),
                    {"off": False, "id": people["staff"].user_id})
    session.commit()
    result = run_now(app)["two-factor"]
    assert result.status == "failing"
    assert result.summary.startswith("1 person with access to other people's data has not set up")
    assert details(result)["without_second_factor_by_role"] == {"staff": 1}


# -- the notification path ------------------------------------------------------------------------------------

def smtp_to(app, monkeypatch, port: int) -> None:
    for name, value in (("MAIL_TRANSPORT", "smtp"), ("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", port)):
        monkeypatch.setitem(app.config, name, value)


def test_a_running_worker_and_an_answering_mail_server_pass(app, monkeypatch, smtp_server):
    smtp_to(app, monkeypatch, smtp_server.port)
    beat(app, dt.timedelta(minutes=1))
    result = run_now(app)["notification-path"]
    assert result.status == "passing", result.summary
    assert smtp_server.mailbox.messages == []  # probed, never mailed


def test_a_stale_heartbeat_fails(app, monkeypatch, smtp_server):
    smtp_to(app, monkeypatch, smtp_server.port)
    beat(app, dt.timedelta(minutes=6))
    result = run_now(app)["notification-path"]
    assert result.status == "failing"
    assert "The worker last ran 6 minutes ago" in result.summary


def test_a_worker_that_never_ran_fails(app):
    result = run_now(app)["notification-path"]
    assert result.status == "failing" and "No worker has ever run" in result.summary


def test_a_mail_server_that_does_not_answer_fails(app, monkeypatch):
    smtp_to(app, monkeypatch, free_port())  # nothing listens there
    beat(app)
    result = run_now(app)["notification-path"]
    assert result.status == "failing"
    assert "did not answer (ConnectionRefusedError)" in result.summary


def test_file_mail_is_not_checked_and_says_why(app):
    beat(app)
    result = run_now(app)["notification-path"]
    assert result.status == "not_checked"
    assert "Mail is written to files" in result.summary


# -- every check --------------------------------------------------------------------------------------------

def test_a_check_that_breaks_reports_failing_and_the_rest_still_run(app, monkeypatch):
    def broken(_probe):
        raise RuntimeError("secret@example.com")  # the message may hold values: only the class is kept

    monkeypatch.setitem(service.CHECKS, "two-factor", broken)
    results = run_now(app)
    assert results["two-factor"].status == "failing"
    assert "RuntimeError" in results["two-factor"].summary
    assert "secret@example.com" not in json.dumps([r.summary + r.details for r in results.values()])
    assert results["encryption-at-rest"].status == "passing"


def test_stored_results_hold_no_personal_data(app, people, session, monkeypatch, smtp_server):
    from tests.security.test_isolation import tenant_b_values

    smtp_to(app, monkeypatch, smtp_server.port)
    users = table("users", column("id"), column("first_name", LargeBinary))
    session.execute(update(users).where(users.c.id == people["b_member"].user_id).values(first_name=b"FirstBMember"))
    session.commit()
    beat(app)
    run_now(app)
    stored = session.execute(select(EvidenceResult.summary, EvidenceResult.details)).all()
    text_of = json.dumps([list(row) for row in stored])
    personal = [people[key].email for key in people] + tenant_b_values(people)
    assert [value for value in personal if value in text_of] == []
    assert "users.first_name" in text_of  # the failure is named by column, never by value


def test_current_results_are_in_a_fixed_order_with_placeholders(app, session):
    results = service.current_results(session)
    from trustcenter.evidence.claims import CLAIMS

    assert [r.key for r in results] == [c.key for c in CLAIMS] and set(service.CHECKS) == {c.key for c in CLAIMS}
    assert {r.status for r in results} == {"not_checked"} and all(r.checked_at is None for r in results)
    assert results[0].title == "Personal data is encrypted at rest"
    assert "personal-data-encryption-at-rest" in results[0].anchors
    digest = service.results_digest(results)
    assert digest == service.results_digest(list(reversed(results))) and len(digest) == 32
