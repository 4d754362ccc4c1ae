"""`trustcenter audit verify` and `trustcenter retention purge`; both are audited themselves."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from trustcenter.audit import AuditHead, AuditLogBroken, AuditLogError, Witness, purge, record, verify
from trustcenter.audit.retention import RETENTION
from trustcenter.audit.service import HEAD_ID
from trustcenter.extensions import db
from trustcenter.registry import RETENTION_PURGERS, registry


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


def _witness(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Witness | None:
    try:
        return Witness.parse(value) if value else None
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@audit_group.command("verify")
@click.option("--expect", metavar="ID:HASH", callback=_witness,
              help="A head printed earlier by `trustcenter audit head` and kept outside the database: "
                   "fail if the log no longer holds that entry (a rollback).")
@with_appcontext
def verify_command(expect: Witness | None) -> None:
    """Check every entry's hash and link, the checkpoints and the signed head; exit 1 if broken."""
    session = db.session()
    result = verify(session, current_app.extensions["keys"].root.audit_verify, witness=expect)
    _record_or_warn("audit.verified", {"ok": result.ok, "checked": result.checked,
                                       "first_broken_id": result.first_broken_id})
    if not result.ok:
        click.echo(f"Audit log broken at entry {result.first_broken_id}: {result.reason}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"Audit log intact: {result.checked} entries verified")


@audit_group.command("head")
@click.option("--previous", metavar="ID:HASH", callback=_witness,
              help="The head shipped last time: refuse (exit 1) to print a new one if the log no longer holds it.")
@with_appcontext
def head_command(previous: Witness | None) -> None:
    """Print the newest entry as ID:HASH, to keep outside the database (for `audit verify --expect`).

    Ship it somewhere the database's administrators cannot rewrite (a remote log,
    object storage with retention lock), e.g. from cron every few minutes, passing
    the last shipped line as --previous: a log rolled back since then is reported
    instead of being accepted as the new reference.
    """
    session = db.session()
    if previous is not None:
        result = verify(session, current_app.extensions["keys"].root.audit_verify, witness=previous)
        if not result.ok:
            click.echo(f"Audit log broken at entry {result.first_broken_id}: {result.reason}", err=True)
            raise click.exceptions.Exit(1)
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        click.echo("The audit log is empty: nothing to witness yet.", err=True)
        raise click.exceptions.Exit(1)
    click.echo(str(Witness(head.last_id, head.last_hash)))


@click.group("retention")
def retention_group() -> None:
    """Deleting data we promised not to keep."""


@retention_group.command("purge")
@click.option("--days", type=click.IntRange(min=1), default=RETENTION.days, show_default=True,
              help="Delete audit entries older than this many days.")
@with_appcontext
def purge_command(days: int) -> None:
    """Delete old audit entries behind a signed checkpoint, so the rest still verifies."""
    session = db.session()
    try:
        result = purge(session, current_app.extensions["keys"].root.audit_signing, dt.timedelta(days=days))
    except AuditLogBroken as broken:
        session.rollback()
        _record_or_warn("retention.refused", {"first_broken_id": broken.result.first_broken_id})
        click.echo(f"Refusing to purge: {broken}. Investigate with `trustcenter audit verify`.", err=True)
        raise click.exceptions.Exit(1) from None
    if result.purged:
        session.commit()  # purge recorded "retention.purged" with the checkpoint
        click.echo(f"Purged {result.purged} audit entries older than {days} days "
                   f"(up to entry {result.upto_id}, checkpoint {result.checkpoint_id}).")
    else:
        _record_or_warn("retention.purged", {"purged_count": 0, "older_than_days": days})
        click.echo(f"Nothing to purge: no audit entries older than {days} days.")
    _run_other_purgers(dt.timedelta(days=days))


def _run_other_purgers(older_than: dt.timedelta) -> None:
    """Other domains register `purge(session, older_than) -> count` by name in the app's retention purgers."""
    for name, purge_other in registry(current_app, RETENTION_PURGERS).items():
        session = db.session()
        count = purge_other(session, older_than)
        session.commit()
        click.echo(f"Purged {count} {name} older than {older_than.days} days.")


def _record_or_warn(action: str, details: dict[str, object]) -> None:
    """Audit a command run; a log too damaged to append to gets a warning, not a traceback."""
    session = db.session()
    try:
        record(session, action, actor_label="system", details={"via": "cli", **details})
        session.commit()
    # TypeError, ValueError: a head row corrupted to another type (SQLite allows it) trips the service up.
    except (SQLAlchemyError, AuditLogError, TypeError, ValueError) as error:
        session.rollback()
        click.echo(f"Warning: could not record {action} in the audit log: {type(error).__name__}", err=True)
