"""`trustcenter backup create|list|prune|restore`: every run is audited where the database answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from trustcenter.accounts.erasure import apply_recorded_erasures, destroy_keys_of_erased_rows
from trustcenter.accounts.service import Actor
from trustcenter.audit import AuditLogError, record
from trustcenter.backup import service
from trustcenter.backup.service import Backup, BackupError, DatabaseNotEmpty
from trustcenter.crypto import CryptoError
from trustcenter.crypto.clock import utcnow
from trustcenter.extensions import db

DIR_OPTION = click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
                          help="The backup folder (default: TRUSTCENTER_BACKUP_DIR, or instance/backups).")


@click.group("backup")
def backup_group() -> None:
    """Backups of the main database; the key store is backed up apart (docs/operations.md)."""


@backup_group.command("create")
@DIR_OPTION
@with_appcontext
def create_command(folder: Path | None) -> None:
    """Write a consistent, timestamped copy of the main database (never the key store)."""
    if db.engine.dialect.name == service.POSTGRESQL:
        click.echo("Running pg_dump …")
    with _clear_errors():
        backup = service.create_backup(db.engine, current_app.extensions["keys"].engine, _folder(folder),
                                       progress=_progress)
    click.echo(f"Backup written: {backup.path} ({human_size(backup.size)}).")
    click.echo("It holds no keys: back up the key store and the root keys apart (docs/operations.md).")
    _record_or_warn("backup.created", {"file": backup.name, "size": backup.size})


@backup_group.command("list")
@DIR_OPTION
@with_appcontext
def list_command(folder: Path | None) -> None:
    """Every backup in the folder: when it was taken, its size, its age, and whether it is past retention."""
    where, days, now = _folder(folder), _retention_days(), utcnow()
    backups = service.list_backups(where)
    if not backups:
        click.echo(f"No backups in {where}.")
    else:
        click.echo(f"Backups in {where} (kept {days} days):")
        for backup in backups:
            click.echo(_describe(backup, now, days))
    _record_or_warn("backup.listed", {"count": len(backups)})


@backup_group.command("prune")
@DIR_OPTION
@click.option("--dry-run", is_flag=True, help="Only say which backups would be deleted.")
@with_appcontext
def prune_command(folder: Path | None, dry_run: bool) -> None:
    """Delete backups older than the retention period (TRUSTCENTER_BACKUP_RETENTION_DAYS, 35 by default)."""
    where, days, now = _folder(folder), _retention_days(), utcnow()
    with _clear_errors():
        expired = service.prune_backups(where, days, now, dry_run=dry_run)
    verb = "Would delete" if dry_run else "Deleted"
    for backup in expired:
        click.echo(f"{verb} {backup.name} (taken {backup.age(now).days} days ago).")
    left = len(service.list_backups(where)) - (len(expired) if dry_run else 0)
    click.echo(f"{verb} {len(expired)} backup(s) older than {days} days; {left} kept.")
    if not left:
        click.echo(f"Warning: no backup younger than {days} days is left in {where}; "
                   "check that `trustcenter backup create` runs.", err=True)
    _record_or_warn("backup.pruned", {"deleted": 0 if dry_run else len(expired), "expired": len(expired),
                                      "kept": left, "dry_run": dry_run, "files": [b.name for b in expired]})


@backup_group.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a database that already holds data.")
@with_appcontext
def restore_command(file: Path, force: bool) -> None:
    """Restore FILE into the configured main database, then re-apply the erasures the key store records."""
    path = _locate(file)
    try:
        with _clear_errors():
            backup = service.restore_backup(db.engine, path, force=force, progress=_progress)
    except DatabaseNotEmpty as refused:
        _record_or_warn("backup.restore_refused", {"file": path.name, "tables_with_rows": len(refused.tables)})
        raise click.ClickException(
            f"{refused} A restore replaces everything in it. Run again with --force to overwrite it, or point "
            "TRUSTCENTER_DATABASE_URL at a new, empty database (`trustcenter db upgrade` prepares one) and "
            "restore there.") from None
    click.echo(f"Restored {backup.name} ({human_size(backup.size)}).")
    erased, keys_destroyed = _after_restore(backup, path, force)
    click.echo(f"Re-applied {erased} erasure(s) recorded in the key store.")
    if keys_destroyed:
        click.echo(f"Destroyed {keys_destroyed} data key(s) the key store still held for people erased in the backup.")


def _after_restore(backup: Backup, path: Path, force: bool) -> tuple[int, int]:
    """Bring the restored database to this schema, re-apply erasures both ways and audit the restore."""
    try:
        with _clear_errors():
            if service.upgrade_restored(db.engine, current_app.extensions["keys"]):
                click.echo("Migrated the restored database to this version's schema.")
            session = db.session()
            erased = apply_recorded_erasures(session, Actor())
            keys_destroyed = destroy_keys_of_erased_rows(session)
            record(session, "backup.restored", actor_label="system",
                   details={"via": "cli", "file": backup.name, "size": backup.size, "forced": force,
                            "erasures_applied": erased, "keys_destroyed": keys_destroyed})
            session.commit()
    except click.ClickException as error:
        # The data is back but people erased since the backup are not: the site must not open like this.
        raise click.ClickException(f"{error.message} Erasures recorded in the key store were not re-applied: fix "
                                   f"this and run `trustcenter backup restore {path} --force` again before "
                                   "opening the site.") from None
    return erased, keys_destroyed


def _locate(file: Path) -> Path:
    """FILE as given, or a bare file name looked up in the backup folder."""
    if file.exists() or file.parent != Path("."):
        return file
    in_folder = _folder(None) / file.name
    return in_folder if in_folder.exists() else file


def _folder(option: Path | None) -> Path:
    return Path(option or current_app.config["BACKUP_DIR"])


def _retention_days() -> int:
    return int(current_app.config["BACKUP_RETENTION_DAYS"])


def _describe(backup: Backup, now: dt.datetime, days: int) -> str:
    """One line of `backup list`."""
    expired = ""
    if backup.expired(now, days):
        expired = f"  past retention ({days} days): `trustcenter backup prune` deletes it"
    return (f"  {backup.name}  {backup.taken_at:%Y-%m-%d %H:%M:%S} UTC  {human_size(backup.size):>9}  "
            f"{backup.age(now).days:>3} days old{expired}")


def human_size(size: int) -> str:
    """Bytes in decimal units, as `ls -h --si` and most storage consoles show them."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _progress(done: int, total: int) -> None:
    click.echo(f"Copied {done} of {total} pages ({done * 100 // max(total, 1)}%).")


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Failures a command can explain become a message and exit status 1, never a traceback."""
    try:
        yield
    except DatabaseNotEmpty:
        raise
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        raise click.ClickException(f"{error.strerror or error}{where}. Check the path and its permissions.") from None
    except (AuditLogError, CryptoError) as error:
        raise click.ClickException(f"{error}.") from None
    except SQLAlchemyError as error:
        raise click.ClickException(f"The database did not answer as expected ({type(error).__name__}: "
                                   f"{getattr(error, 'orig', None) or error}). Check TRUSTCENTER_DATABASE_URL "
                                   "and that the database is running.") from None


def _record_or_warn(action: str, details: dict[str, Any]) -> None:
    """Audit a command run; without a working database, a warning instead of a traceback."""
    session = db.session()
    try:
        record(session, action, actor_label="system", details={"via": "cli", **details})
        session.commit()
    except (SQLAlchemyError, AuditLogError, CryptoError) as error:
        session.rollback()
        click.echo(f"Warning: could not record {action} in the audit log: {type(error).__name__}", err=True)
