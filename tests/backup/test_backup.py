"""`trustcenter backup`: private timestamped copies of the main database only, retention, and safe restores.

The property that matters most: a backup taken before an erasure, restored
after it, still cannot show the erased person, because their data key lived
in the key store and is gone.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select
from sqlalchemy.exc import OperationalError

from tests.conftest import Auth, Databases, close_app, database_backends, scratch_postgresql
from tests.security.test_dump import seeded_values
from trustcenter import create_app, migrate
from trustcenter.accounts import service
from trustcenter.accounts.models import ERASED, User
from trustcenter.audit import AuditEntry
from trustcenter.backup import BackupError, create_backup, restore_backup
from trustcenter.backup import cli as backup_cli
from trustcenter.backup.service import NAME
from trustcenter.db import same_database
from trustcenter.crypto import KeyDestroyed
from trustcenter.db import make_engine
from trustcenter.extensions import db, session_factory

KEY_STORE_TABLES = {"tenant_keys", "data_keys", "destroyed_keys", "system_keys", "alembic_version_keystore"}
ORG_NAMES = ["Tenant A Ltd", "Tenant B Ltd", "Cloud Stem"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "backups"


def succeeded(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refused(result) -> str:
    """A failure explained in a message: non-zero exit, no traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.output


def make_backup(runner, folder: Path) -> Path:
    succeeded(runner.invoke(args=["backup", "create", "--dir", str(folder)]))
    [path] = list(folder.iterdir())
    return path


def stamp(days_ago: float) -> str:
    moment = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def fake_backup(folder: Path, days_ago: float, suffix: str = "sqlite3") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"trustcenter-{stamp(days_ago)}.{suffix}"
    path.write_bytes(b"x" * 1500)
    return path


def last_entry(app) -> AuditEntry:
    session = session_factory(app)()
    try:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        _ = entry.details  # opened while the session is there
        return entry
    finally:
        session.close()


def backup_tables(path: Path) -> set[str]:
    if path.suffix == ".sqlite3":
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    listing = subprocess.run(["pg_restore", "--list", str(path)], check=True, capture_output=True, text=True).stdout
    return set(re.findall(r"^\d+; \d+ \d+ TABLE public (\S+) ", listing, re.MULTILINE))


def readable_bytes(path: Path) -> bytes:
    """The file as stored and, for a pg_dump archive (compressed), as the SQL it restores to."""
    raw = path.read_bytes()
    if path.suffix == ".pgdump":
        raw += subprocess.run(["pg_restore", "--file=-", str(path)], check=True, capture_output=True).stdout
    return raw


# -- create -------------------------------------------------------------------

def test_create_writes_a_private_timestamped_copy_of_the_main_database(app, runner, people, folder, databases):
    output = succeeded(runner.invoke(args=["backup", "create", "--dir", str(folder)]))
    [path] = list(folder.iterdir())
    suffix = {"sqlite": "sqlite3", "postgresql": "pgdump"}[databases.backend]
    assert NAME.match(path.name) and path.name.endswith(suffix)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600
    assert str(path) in output and "kB" in output
    if databases.backend == "sqlite":
        assert re.search(r"Copied (\d+) of \1 pages \(100%\)", output)
    assert "users" in backup_tables(path)
    entry = last_entry(app)
    assert (entry.action, entry.actor_label) == ("backup.created", "system")
    assert entry.details == {"via": "cli", "file": path.name, "size": path.stat().st_size}  # no folder path


def test_a_backup_holds_no_personal_value_in_clear_and_no_key_store_table(runner, people, folder):
    path = make_backup(runner, folder)
    data = readable_bytes(path)
    assert b"audit_entries" in data and b"email_index" in data  # the copy is real
    found = [value for value in seeded_values(people) + ORG_NAMES if value.lower().encode() in data.lower()]
    assert found == []
    tables = backup_tables(path)
    assert {"users", "organisations", "audit_entries"} <= tables
    assert not tables & KEY_STORE_TABLES


def test_create_uses_the_configured_folder_and_makes_it_private(app, runner, tmp_path):
    app.config["BACKUP_DIR"] = str(tmp_path / "deep" / "backups")
    succeeded(runner.invoke(args=["backup", "create"]))
    assert len(list((tmp_path / "deep" / "backups").iterdir())) == 1
    assert (tmp_path / "deep" / "backups").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(("a", "b", "same"), [
    ("postgresql+psycopg://tc:pw@localhost/data", "postgresql://keys@127.0.0.1:5432/data", True),
    ("postgresql+psycopg://tc@db.internal/data", "postgresql+psycopg://tc@db.internal/keys", False),
    ("postgresql+psycopg://tc@db.internal/data", "postgresql+psycopg://tc@other.internal/data", False),
    ("sqlite:////srv/tc/data.db", "sqlite:////srv/tc/../tc/data.db", True),
    ("sqlite:////srv/tc/data.db", "sqlite:////srv/tc/keys.db", False),
    ("sqlite://", "sqlite://", False),
])
def test_same_database_sees_through_spelling(a, b, same):
    assert same_database(make_url(a), make_url(b)) is same


def test_create_refuses_a_key_store_in_the_main_database(tmp_path, folder):
    data = tmp_path / "data.db"
    with closing(sqlite3.connect(data)) as connection:
        connection.execute("CREATE TABLE users (id TEXT)")
    engine, same = make_engine(f"sqlite:///{data}"), make_engine(f"sqlite:///{tmp_path}/../{tmp_path.name}/data.db")
    try:
        with pytest.raises(BackupError, match="name the same database"):
            create_backup(engine, same, folder)
        with closing(sqlite3.connect(data)) as connection:
            connection.execute("CREATE TABLE data_keys (id TEXT)")
        with pytest.raises(BackupError, match="holds key-store tables"):
            create_backup(engine, make_engine(f"sqlite:///{tmp_path / 'keys.db'}"), folder)
    finally:
        engine.dispose()
        same.dispose()
    assert not folder.exists() or not list(folder.iterdir())


ON_POSTGRESQL = pytest.mark.parametrize("databases", [b for b in database_backends() if b == "postgresql"],
                                        indirect=True)


@ON_POSTGRESQL
def test_postgresql_password_travels_in_the_environment_never_on_the_command_line(app, databases, folder,
                                                                                   monkeypatch):
    seen: list[tuple[list[str], dict]] = []
    real_run = subprocess.run

    def spy(command, **kwargs):
        seen.append((command, kwargs.get("env") or {}))
        return real_run(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    url = make_url(databases.url).set(password="n0t-on-the-command-line")  # trust authentication ignores it
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        backup = create_backup(engine, app.extensions["keys"].engine, folder)
    finally:
        engine.dispose()
    assert backup.size > 0
    [(command, env)] = [(c, e) for c, e in seen if c[0].endswith("pg_dump")]
    assert "--format=custom" in command
    assert not any("n0t-on-the-command-line" in part for part in command)
    assert env["PGPASSWORD"] == "n0t-on-the-command-line"


@ON_POSTGRESQL
def test_a_missing_pg_dump_is_explained(runner, databases, folder, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    output = refused(runner.invoke(args=["backup", "create", "--dir", str(folder)]))
    assert "pg_dump is not installed" in output and "postgresql-client" in output
    assert not folder.exists()  # refused before anything was written


# -- list and prune -----------------------------------------------------------

def test_list_shows_time_size_age_and_retention(runner, folder):
    old, young = fake_backup(folder, 40.5), fake_backup(folder, 1.5, "pgdump")
    (folder / "notes.txt").write_text("not a backup")
    output = succeeded(runner.invoke(args=["backup", "list", "--dir", str(folder)]))
    lines = {line.split()[0]: line for line in output.splitlines() if line.startswith("  ")}
    assert set(lines) == {old.name, young.name}
    assert "40 days old" in lines[old.name] and "past retention (35 days)" in lines[old.name]
    assert "1 days old" in lines[young.name] and "past retention" not in lines[young.name]
    assert "1.5 kB" in lines[young.name] and "UTC" in lines[young.name]
    assert output.index(old.name) < output.index(young.name)  # oldest first


def test_list_of_an_empty_folder_says_so(runner, folder):
    assert "No backups in" in succeeded(runner.invoke(args=["backup", "list", "--dir", str(folder)]))


def test_prune_deletes_backups_past_retention_judged_by_their_name(app, runner, folder):
    old, older, young = fake_backup(folder, 36), fake_backup(folder, 400, "pgdump"), fake_backup(folder, 34)
    os.utime(young, (0, 0))  # an old modification time does not make a young backup old
    dry = succeeded(runner.invoke(args=["backup", "prune", "--dir", str(folder), "--dry-run"]))
    assert f"Would delete {old.name}" in dry and f"Would delete {older.name}" in dry
    assert old.exists() and older.exists()
    output = succeeded(runner.invoke(args=["backup", "prune", "--dir", str(folder)]))
    assert f"Deleted {old.name}" in output and f"Deleted {older.name}" in output
    assert "Deleted 2 backup(s) older than 35 days; 1 kept." in output
    assert sorted(p.name for p in folder.iterdir()) == [young.name]
    entry = last_entry(app)
    assert entry.action == "backup.pruned" and entry.details["deleted"] == 2
    assert sorted(entry.details["files"]) == sorted([old.name, older.name])


def test_prune_follows_the_configured_retention(app, runner, folder):
    app.config["BACKUP_RETENTION_DAYS"] = 10
    twenty, five = fake_backup(folder, 20), fake_backup(folder, 5)
    output = succeeded(runner.invoke(args=["backup", "prune", "--dir", str(folder)]))
    assert "older than 10 days" in output
    assert not twenty.exists() and five.exists()


def test_prune_warns_when_no_backup_is_left(runner, folder):
    fake_backup(folder, 50)
    result = runner.invoke(args=["backup", "prune", "--dir", str(folder)])
    assert result.exit_code == 0
    assert "no backup younger than 35 days is left" in result.output


# -- restore --------------------------------------------------------------------

def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_restore_refuses_a_database_with_data_without_force(app, runner, people, folder):
    path = make_backup(runner, folder)
    output = refused(runner.invoke(args=["backup", "restore", str(path)]))
    assert "already holds data" in output and "users" in output and "--force" in output
    assert count_users(app) == len(people)
    entry = last_entry(app)
    assert entry.action == "backup.restore_refused" and entry.details["file"] == path.name


def test_restore_with_force_brings_back_the_backed_up_state(app, runner, people, folder):
    path = make_backup(runner, folder)
    with app.app_context():
        session = db.session()
        org = service.organisation_named(session, "Tenant A Ltd")
        service.create_user(session, org, "after.backup@a.example", "customer_member")
        session.commit()
    assert count_users(app) == len(people) + 1
    output = succeeded(runner.invoke(args=["backup", "restore", str(path), "--force"]))
    assert "Re-applied 0 erasure(s)" in output
    assert count_users(app) == len(people)
    with app.app_context():
        assert service.users_with_email(db.session(), "after.backup@a.example") == []
        [person] = service.users_with_email(db.session(), people["b_admin"].email)
        assert person.first_name == "FirstBAdmin"
    assert last_entry(app).action == "backup.restored"


def test_restore_finds_a_bare_file_name_in_the_backup_folder(app, runner, people, folder):
    app.config["BACKUP_DIR"] = str(folder)
    path = make_backup(runner, folder)
    output = succeeded(runner.invoke(args=["backup", "restore", path.name, "--force"]))
    assert f"Restored {path.name}" in output


def test_restore_explains_bad_files(app, runner, databases, folder, tmp_path):
    other_magic = b"PGDMP\x01\x0e" if databases.backend == "sqlite" else b"SQLite format 3\x00"
    other = tmp_path / "other-kind.bak"
    other.write_bytes(other_magic + b"\x00" * 200)
    junk = tmp_path / "notes.sqlite3"
    junk.write_text("SELECT 1;")
    expected = [(tmp_path / "missing.sqlite3", "There is no file"),
                (other, "backup, but TRUSTCENTER_DATABASE_URL names a"),
                (junk, "neither a SQLite database nor a pg_dump archive")]
    for path, message in expected:
        output = refused(runner.invoke(args=["backup", "restore", str(path), "--force"]))
        assert message in output, path


def test_a_restore_that_cannot_re_apply_erasures_says_so(app, runner, people, folder, monkeypatch):
    path = make_backup(runner, folder)

    def connection_lost(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("connection lost"))

    monkeypatch.setattr(backup_cli, "apply_recorded_erasures", connection_lost)
    output = refused(runner.invoke(args=["backup", "restore", str(path), "--force"]))
    assert "connection lost" in output and "Erasures recorded in the key store were not re-applied" in output
    assert f"backup restore {path} --force` again" in output


def test_restore_refuses_a_copy_of_the_key_store(app, runner, databases, tmp_path):
    url = make_url(databases.keystore_url)
    if databases.backend == "sqlite":
        copy = tmp_path / "keys-copy.sqlite3"
        with closing(sqlite3.connect(url.database)) as source, closing(sqlite3.connect(copy)) as target:
            source.backup(target)
    else:
        copy = tmp_path / "keys-copy.pgdump"
        libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(["pg_dump", "-Fc", f"--file={copy}", f"--dbname={libpq}"], check=True)
    output = refused(runner.invoke(args=["backup", "restore", str(copy), "--force"]))
    assert "it is a copy of the key store" in output


# -- erasure and restore: crypto-shredding --------------------------------------------

@contextmanager
def app_on_fresh_database(app_config: dict, databases: Databases, tmp_path: Path) -> Iterator:
    """A second application on a new, migrated, empty main database, with the same key store and keys."""
    with _fresh_database(databases, tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        restored = create_app({**app_config, "DATABASE_URL": url})  # same instance folder: the same keys
        try:
            yield restored
        finally:
            close_app(restored)


@contextmanager
def _fresh_database(databases: Databases, tmp_path: Path) -> Iterator[str]:
    if databases.backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        with scratch_postgresql(os.environ["TEST_DATABASE_URL"]) as url:
            yield url


@pytest.fixture
def backup_before_erasure(runner, people, folder):
    """A backup with everyone in it, then `users erase` of one person; returns (backup, erased person)."""
    path = make_backup(runner, folder)
    erased = people["a_member"]
    output = succeeded(runner.invoke(args=["users", "erase", erased.email, "--yes"]))
    assert "Erased 1 account" in output
    return path, erased


def assert_others_read_back(app, people, erased) -> None:
    session = session_factory(app)()
    try:
        for key, person in people.items():
            if person is erased:
                continue
            user = session.get(User, person.user_id)
            name = key.title().replace("_", "")
            assert (user.email, user.first_name, user.last_name) == (person.email, f"First{name}", f"Last{name}")
            assert user.address.endswith(f"Secret Street {key}") and not user.is_erased
            assert user.org.name in ORG_NAMES
    finally:
        session.close()


def staff_page_of(app, people, org_id: str) -> str:
    client = app.test_client()
    Auth(client).login(people["staff"])
    page = client.get(f"/staff/customers/{org_id}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_values_in_a_backup_taken_before_an_erasure_stay_unreadable(app_config, databases, tmp_path, people,
                                                                    backup_before_erasure):
    path, erased = backup_before_erasure
    with app_on_fresh_database(app_config, databases, tmp_path) as restored:
        with restored.app_context():
            restore_backup(db.engine, path)  # the backup as it is, before erasures are re-applied
        session = session_factory(restored)()
        try:
            user = session.get(User, erased.user_id)
            assert user.email_index != "" and user.status == "active"  # the backup predates the erasure
            for field in ("email", "first_name", "last_name", "address", "stripe_customer_id"):
                with pytest.raises(KeyDestroyed, match="has been destroyed"):
                    getattr(user, field)
            assert user.is_erased and user.display_name == "Erased person"
        finally:
            session.close()
        assert_others_read_back(restored, people, erased)
        page = staff_page_of(restored, people, erased.org_id)
        assert "Erased person" in page and "Erased: this person's data key was destroyed" in page
        assert "FirstAAdmin" in page and erased.email not in page


def test_restore_command_re_applies_erasures_in_a_fresh_database(app_config, databases, tmp_path, people,
                                                                  backup_before_erasure):
    path, erased = backup_before_erasure
    with app_on_fresh_database(app_config, databases, tmp_path) as restored:
        output = succeeded(restored.test_cli_runner().invoke(args=["backup", "restore", str(path)]))
        assert f"Restored {path.name}" in output and "Re-applied 1 erasure(s)" in output
        session = session_factory(restored)()
        try:
            user = session.get(User, erased.user_id)
            assert (user.status, user.password_hash, user.email, user.first_name) == (ERASED, None, None, None)
            assert user.email_index.startswith("erased:")
            actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(2)).all()
            assert actions == ["backup.restored", "user.erased"]
        finally:
            session.close()
        assert_others_read_back(restored, people, erased)
        assert "Erased person" in staff_page_of(restored, people, erased.org_id)
        client = restored.test_client()
        response = Auth(client).login(erased)
        assert response.status_code == 422 and "do not match an account" in response.get_data(as_text=True)
        assert client.get("/account/").status_code == 302
        again = refused(restored.test_cli_runner().invoke(args=["backup", "restore", str(path)]))
        assert "--force" in again  # the restored database now holds data
