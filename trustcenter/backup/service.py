"""Consistent copies of the main database, and restoring them; no Flask imports.

A backup holds what the main database holds: ciphertexts, blind indexes,
hashes and metadata, never a key. The wrapped keys live in the key store
(`TRUSTCENTER_KEYSTORE_URL`), which is backed up apart, so a person erased
after a backup was taken stays unreadable when that backup comes back: their
data key is gone from the key store, whichever copy of the data returns.

SQLite is copied with its online backup API (consistent while the site runs),
PostgreSQL with `pg_dump -Fc` and restored with `pg_restore` (`copying.py`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alembic.util import CommandError
from sqlalchemy import inspect, literal, select, table
from sqlalchemy.engine import URL, Engine

from trustcenter import migrate
from trustcenter.backup.copying import (
    BackupError,
    Progress,
    archive_tables,
    client,
    libpq,
    run,
    sqlite_copy,
    sqlite_tables,
)
from trustcenter.crypto.clock import utcnow
from trustcenter.crypto.models import KeyStoreBase
from trustcenter.db import same_database, sqlite_file

if TYPE_CHECKING:
    from trustcenter.crypto import KeyService

SQLITE, POSTGRESQL = "sqlite", "postgresql"
SUFFIXES = {SQLITE: "sqlite3", POSTGRESQL: "pgdump"}
LABELS = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
# What each kind of file starts with: a file's kind is judged by its content, not its name.
MAGIC = {SQLITE: b"SQLite format 3\x00", POSTGRESQL: b"PGDMP"}
STAMP = "%Y%m%dT%H%M%SZ"
NAME = re.compile(r"^trustcenter-(\d{8}T\d{6}Z)\.(sqlite3|pgdump)$")
KEY_STORE_TABLES = frozenset(KeyStoreBase.metadata.tables) | {migrate.KEYSTORE_VERSION_TABLE}
VERSION_TABLES = frozenset({"alembic_version"})


class DatabaseNotEmpty(BackupError):
    """A restore would overwrite data; it needs --force."""

    def __init__(self, tables: list[str]) -> None:
        self.tables = tables
        shown = ", ".join(tables[:6]) + (", …" if len(tables) > 6 else "")
        super().__init__(f"The database already holds data (rows in {shown}).")


@dataclass(frozen=True)
class Backup:
    """A backup file: where it is, which kind of database it copies, when it was taken, how big it is."""

    path: Path
    kind: str
    taken_at: dt.datetime
    size: int

    @property
    def name(self) -> str:
        return self.path.name

    def age(self, now: dt.datetime) -> dt.timedelta:
        return now - self.taken_at

    def expired(self, now: dt.datetime, retention_days: int) -> bool:
        """Older than the retention period, judged by the time in its name."""
        return self.age(now) > dt.timedelta(days=retention_days)


def backup_name(taken_at: dt.datetime, kind: str) -> str:
    return f"trustcenter-{taken_at.astimezone(dt.timezone.utc).strftime(STAMP)}.{SUFFIXES[kind]}"


def kind_of(url: URL) -> str:
    """SQLite or PostgreSQL: the databases we know how to copy."""
    name = url.get_backend_name()
    if name not in SUFFIXES:
        raise BackupError(f"Backups support SQLite and PostgreSQL databases, not {name}.")
    return name


# -- the key store stays out ------------------------------------------------

def check_separate(engine: Engine, keystore: Engine) -> None:
    """Refuse a main database that is, or holds, the key store: its backups would hold the keys."""
    if same_database(engine.url, keystore.url):
        raise BackupError("TRUSTCENTER_KEYSTORE_URL and TRUSTCENTER_DATABASE_URL name the same database, so a "
                          "backup would hold the keys with the data. Give the key store a database of its own "
                          "(docs/operations.md) before taking backups.")
    found = KEY_STORE_TABLES & set(inspect(engine).get_table_names())
    if found:
        raise BackupError(f"The main database holds key-store tables ({', '.join(sorted(found))}), so a backup "
                          "would hold the keys with the data. Run `trustcenter db upgrade`, which moves them out.")


# -- create, list, prune ------------------------------------------------------

def create_backup(engine: Engine, keystore: Engine, folder: Path, now: dt.datetime | None = None,
                  progress: Progress | None = None) -> Backup:
    """Copy the main database into a new file `trustcenter-<UTC time>.<kind>` (0600) in `folder` (0700)."""
    kind = kind_of(engine.url)
    source = _existing_sqlite_file(engine.url) if kind == SQLITE else None
    pg_dump = client("pg_dump") if kind == POSTGRESQL else ""  # missing tools fail before any file is made
    check_separate(engine, keystore)
    taken_at = (now or utcnow()).replace(microsecond=0)
    target = private_folder(folder) / backup_name(taken_at, kind)
    if target.exists():
        raise BackupError(f"{target.name} exists already; backups are named by the second, run the command again.")
    partial = target.with_name(f".{target.name}.partial")  # unseen by list, prune and restore until complete
    _new_private_file(partial)
    try:
        if source is not None:
            sqlite_copy(source, partial, progress)
        else:
            uri, env = libpq(engine.url)
            run([pg_dump, "--format=custom", "--no-password", f"--file={partial}", f"--dbname={uri}"],
                env, "pg_dump")
        partial.chmod(0o600)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(target, kind, taken_at, target.stat().st_size)


def private_folder(folder: Path) -> Path:
    """The backup folder, created readable by this user only (0700) when it is new."""
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True)
        folder.chmod(0o700)  # mkdir's mode passes through the umask; state it exactly
    return folder


def list_backups(folder: Path) -> list[Backup]:
    """The backups in `folder` (files named as `create_backup` names them), oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = NAME.match(path.name)
        if match and path.is_file():
            kind = SQLITE if match[2] == SUFFIXES[SQLITE] else POSTGRESQL
            found.append(Backup(path, kind, _parse_stamp(match[1]), path.stat().st_size))
    return sorted(found, key=lambda backup: backup.taken_at)


def prune_backups(folder: Path, retention_days: int, now: dt.datetime | None = None,
                  dry_run: bool = False) -> list[Backup]:
    """Delete (or, with `dry_run`, only name) the backups older than `retention_days`."""
    if retention_days < 1:
        raise BackupError(f"The backup retention must be at least 1 day, not {retention_days}; "
                          "check TRUSTCENTER_BACKUP_RETENTION_DAYS.")
    moment = now or utcnow()
    expired = [backup for backup in list_backups(folder) if backup.expired(moment, retention_days)]
    if not dry_run:
        for backup in expired:
            backup.path.unlink(missing_ok=True)
    return expired


# -- restore ------------------------------------------------------------------

def read_backup(path: Path) -> Backup:
    """The backup in `path`, its kind judged by its first bytes; raise when it is not one."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
        size = path.stat().st_size
    except FileNotFoundError:
        raise BackupError(f"There is no file {path}; `trustcenter backup list` shows the backups.") from None
    except OSError as error:
        raise BackupError(f"Cannot read {path}: {error.strerror}.") from None
    kind = next((kind for kind, magic in MAGIC.items() if head.startswith(magic)), None)
    if kind is None:
        raise BackupError(f"{path.name} is neither a SQLite database nor a pg_dump archive; "
                          "restore a file that `trustcenter backup create` wrote.")
    match = NAME.match(path.name)
    taken_at = _parse_stamp(match[1]) if match else dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
    return Backup(path, kind, taken_at, size)


def restore_backup(engine: Engine, path: Path, force: bool = False, progress: Progress | None = None) -> Backup:
    """Replace the main database's contents with the backup in `path`; refuse a database with data unless `force`."""
    backup = read_backup(path)
    kind = kind_of(engine.url)
    if backup.kind != kind:
        raise BackupError(f"{backup.name} is a {LABELS[backup.kind]} backup, but TRUSTCENTER_DATABASE_URL names a "
                          f"{LABELS[kind]} database; restore it into a {LABELS[backup.kind]} database.")
    _check_contents(backup)
    target = sqlite_file(engine.url) if kind == SQLITE else None
    if target is not None and not target.exists():
        _new_private_file(target)  # else the emptiness check below would create it readable by all
    occupied = tables_with_rows(engine)
    if occupied and not force:
        raise DatabaseNotEmpty(occupied)
    engine.dispose()  # no pooled connection may hold a lock or stale pages through the copy
    if target is not None:
        sqlite_copy(path, target, progress)
    else:
        uri, env = libpq(engine.url)
        # --clean with --if-exists drops what the archive creates (a migrated empty database has every table);
        # one transaction, so a failed restore changes nothing.
        run([client("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", "--no-password", f"--dbname={uri}",
              str(path.resolve())], env, "pg_restore")
    engine.dispose()
    return backup


def tables_with_rows(engine: Engine) -> list[str]:
    """The tables (schema versions aside) that hold at least one row."""
    names = sorted(set(inspect(engine).get_table_names()) - VERSION_TABLES)
    with engine.connect() as connection:
        return [name for name in names
                if connection.execute(select(literal(1)).select_from(table(name)).limit(1)).first() is not None]


def upgrade_restored(engine: Engine, keys: KeyService) -> bool:
    """Migrate a restored database to this version's schema; True when it was behind."""
    if set(migrate.current_revisions(engine)) == set(migrate.head_revisions()):
        return False
    try:
        migrate.upgrade(engine, keys)
    except CommandError:
        revisions = ", ".join(migrate.current_revisions(engine)) or "none"
        raise BackupError(f"The backup was restored, but its schema revision ({revisions}) is unknown to this "
                          "version of trustcenter (a backup from a newer version?); restore it with the version "
                          "that wrote it.") from None
    return True


def _check_contents(backup: Backup) -> None:
    """A backup of the main database: never one of the key store, never something else."""
    tables = sqlite_tables(backup.path) if backup.kind == SQLITE else archive_tables(backup.path)
    keys = KEY_STORE_TABLES & tables
    if keys:
        raise BackupError(f"{backup.name} holds key-store tables ({', '.join(sorted(keys))}): it is a copy of the "
                          "key store, not of the main database. The key store is restored on its own "
                          "(docs/operations.md).")
    if "users" not in tables:
        raise BackupError(f"{backup.name} holds no trustcenter database (it has no users table); "
                          "restore a file that `trustcenter backup create` wrote.")


# -- files ------------------------------------------------------------------------

def _parse_stamp(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, STAMP).replace(tzinfo=dt.timezone.utc)


def _new_private_file(path: Path) -> None:
    """Create an empty file only its owner can read; fail if it exists (two runs must not share it)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _existing_sqlite_file(url: URL) -> Path:
    path = sqlite_file(url)
    if path is None:
        raise BackupError("The database is in memory; there is nothing on disk to back up.")
    if not path.is_file():
        raise BackupError(f"The database file {path} does not exist; check TRUSTCENTER_DATABASE_URL.")
    return path


