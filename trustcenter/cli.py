"""The `trustcenter` command: Flask's CLI plus database, content and demo commands."""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, routes_command, run_command, shell_command, with_appcontext

from trustcenter import create_app
from trustcenter.config import ENV_PREFIX
from trustcenter.extensions import db
from trustcenter.faq.current import current_content
from trustcenter.links import serve_links_at


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False, add_default_commands=False)
def cli() -> None:
    """Manage the trust center."""


def _development_only(command: click.Command) -> click.Command:
    """Flask's `run`, refused in production: its reloader and `--debugger` are no place for real data."""
    guarded = copy.copy(command)
    serve = command.callback
    assert serve is not None

    @functools.wraps(serve)
    def callback(*args: Any, **kwargs: Any) -> Any:
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
        if app.config["ENV"] == "production":
            raise click.UsageError("`run` is the development server; in production serve with gunicorn "
                                   "(see the README's production deployment).")
        if not os.environ.get(f"{ENV_PREFIX}SITE_URL"):
            # Links in mail, the feed and security.txt must reach this server, wherever it listens.
            serve_links_at(app, development_site_url(kwargs.get("host"), kwargs.get("port")))
        return serve(*args, **kwargs)

    guarded.callback = callback
    return guarded


def development_site_url(host: str | None, port: int | None) -> str:
    """Where `trustcenter run --host --port` answers; a wildcard address is reached on loopback."""
    host = "127.0.0.1" if host in (None, "", "0.0.0.0", "::") else host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port or 5000}"


for _command in (_development_only(run_command), shell_command, routes_command):
    cli.add_command(_command)


def register_commands(app: Flask) -> None:
    """Attach every command group to the app, so `flask` and `trustcenter` both see them."""
    from trustcenter.accounts.cli import orgs_group, users_group
    from trustcenter.audit.cli import audit_group, retention_group
    from trustcenter.backup.cli import backup_group
    from trustcenter.notify.cli import worker_command

    for command in (db_group, content_group, demo, keys_group, orgs_group, users_group, worker_command,
                    audit_group, retention_group, backup_group):
        app.cli.add_command(command)


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database schema to REVISION (default: the latest)."""
    from trustcenter import migrate

    keys = current_app.extensions["keys"]
    before = migrate.current_revisions(db.engine)
    keystore_before = migrate.current_revisions(keys.engine, keystore=True)
    migrate.upgrade(db.engine, keys, revision)
    after = migrate.current_revisions(db.engine)
    keystore_after = migrate.current_revisions(keys.engine, keystore=True)
    click.echo(_migration_report("Key store", keystore_before, keystore_after))
    click.echo(_migration_report("Database", before, after))


def _migration_report(name: str, before: tuple[str, ...], after: tuple[str, ...]) -> str:
    shown = ", ".join(after) or "empty"
    if before == after:
        return f"{name}: already at revision {shown}; nothing to do."
    return f"{name}: migrated from {', '.join(before) or 'an empty database'} to revision {shown}."


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Migrate the database schema back to REVISION."""
    from trustcenter import migrate

    migrate.downgrade(db.engine, revision, current_app.extensions["keys"])
    click.echo(f"Database is at revision {revision}.")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
@with_appcontext
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    from trustcenter import migrate

    migrate.revision(db.engine, message)


@click.group("content")
def content_group() -> None:
    """The Markdown FAQ in the content folder."""


@content_group.command("check")
@with_appcontext
def content_check() -> None:
    """Parse the content and report what it holds (start-up already fails on errors)."""
    content = current_content()
    click.echo(f"Content version {content.version[:12]}: {len(content.sections)} sections, "
               f"{content.question_count} questions, {len(content.site.subprocessors)} subprocessors.")


@content_group.command("publish")
@click.option("--note", default="", help="A sentence for the changelog.")
@with_appcontext
def content_publish(note: str) -> None:
    """Record the current content as a new version in the changelog."""
    from trustcenter.faq import service

    content = current_content()
    version = service.publish(db.session(), content, note=note)
    if version is None:
        click.echo(f"Content version {content.version[:12]} is already published.")
    else:
        click.echo(f"Published content version {content.version[:12]}. The worker mails subscribers a digest "
                   "of what changed.")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Load synthetic demo data; running it again changes nothing."""

    from trustcenter import demo as demo_data
    from trustcenter.demo_accounts import load_accounts

    if current_app.config["ENV"] == "production":
        raise click.ClickException("Demo data is for development only; this is a production configuration.")
    content = current_content()
    for line in demo_data.load(db.session(), content):
        click.echo(line)
    for line in load_accounts(db.session(), content.site.company, Path(current_app.instance_path)):
        click.echo(line)
    from trustcenter.requests.demo import load_requests
    from trustcenter.requests.mail import send
    from trustcenter.requests.service import Clock

    the_clock = Clock(current_app.config["WORKING_CALENDAR"], current_app.config["TIMEZONE"])
    for line in load_requests(db.session(), the_clock, send, content.site.dpo_email):
        click.echo(line)
    from trustcenter.notices.demo import load_notices

    for line in load_notices(db.session()):
        click.echo(line)


@click.group("keys")
def keys_group() -> None:
    """Encryption keys: generate, rotate, inspect."""


@keys_group.command("generate")
@click.option("--signing-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the document-signing CA and certificate (default: instance/keys).")
@click.option("--organisation", default=None, help="The name the certificates carry (default: the content's company).")
def keys_generate(signing_dir: Path | None, organisation: str | None) -> None:
    """Print a fresh set of production keys, and write a new document-signing CA and certificate."""
    import secrets

    from trustcenter.crypto.certificates import CA_KEY_FILE, issue_signing_identity, write_identity
    from trustcenter.crypto.errors import KeyConfigurationError
    from trustcenter.crypto.keys import (
        AUDIT_ENV,
        INDEX_ENV,
        MASTER_ENV,
        encode_key,
        new_master_key_entry,
    )

    folder = signing_dir or _instance_path() / "keys"
    click.echo(f"{MASTER_ENV}={new_master_key_entry()}")
    click.echo(f"{INDEX_ENV}={encode_key(secrets.token_bytes(32))}")
    click.echo(f"{AUDIT_ENV}={encode_key(secrets.token_bytes(32))}")
    try:
        written = write_identity(folder, issue_signing_identity(organisation or _company_name()))
    except KeyConfigurationError as error:
        click.echo(f"# Kept the document-signing identity already there: {error}", err=True)
        return
    click.echo(f"# Document-signing CA and certificate written to {folder}:", err=True)
    for path in written:
        click.echo(f"#   {path.name}", err=True)
    click.echo(f"# Move {CA_KEY_FILE} somewhere offline: it is needed only to issue the next signing certificate.",
               err=True)


def _instance_path() -> Path:
    from trustcenter import PROJECT_ROOT

    return Path(os.environ.get("TRUSTCENTER_INSTANCE_PATH") or PROJECT_ROOT / "instance")


def _company_name() -> str:
    """The content's company, read without building an application (production keys may not exist yet)."""
    import os

    from trustcenter import PROJECT_ROOT
    from trustcenter.faq.content import ContentError, parse_site

    folder = Path(os.environ.get("TRUSTCENTER_CONTENT_DIR") or PROJECT_ROOT / "content")
    try:
        return parse_site(folder / "site.toml").company
    except (ContentError, OSError):
        return "trustcenter"


@keys_group.command("rotate-master")
@with_appcontext
def keys_rotate_master() -> None:
    """Rewrap every tenant key under the current (first) master key. Instant: no data is re-encrypted."""
    from trustcenter.audit import service as audit

    keys = current_app.extensions["keys"]
    session = db.session()
    count = keys.rewrap_tenant_keys()
    audit.record(session, "keys.rotate_master", details={"rewrapped": count, "master_key": keys.root.master.current_id})
    session.commit()
    click.echo(f"Rewrapped {count} tenant key(s) under master key {keys.root.master.current_id}.")
    click.echo("Older master keys can be removed from the configuration once every process has restarted.")


@keys_group.command("rotate-tenant")
@click.argument("org_name")
@with_appcontext
def keys_rotate_tenant(org_name: str) -> None:
    """Give ORG a new tenant key and re-encrypt its data, person by person. Safe to interrupt and rerun."""
    from trustcenter.accounts.service import organisation_named
    from trustcenter.audit import service as audit
    from trustcenter.crypto import rotation

    keys = current_app.extensions["keys"]
    session = db.session()
    org = organisation_named(session, org_name)
    if org is None:
        raise click.ClickException(f"No organisation called {org_name!r}.")
    name = org.name
    target = rotation.start_or_resume(keys, org.id)
    pending = rotation.pending_data_keys(keys, org.id, target)
    moved = 0
    with click.progressbar(pending, label=f"Re-encrypting {name} (key v{target})", show_pos=True) as bar:
        for key_id in bar:
            moved += rotation.rekey_one(session, key_id, target)
    rotation.finish(keys, org.id, target)
    audit.record(session, "keys.rotate_tenant", org_id=org.id,
                 details={"version": target, "rows": moved, "data_keys": len(pending)})
    session.commit()
    click.echo(f"{name} now uses tenant key version {target}; {moved} row(s) re-encrypted.")


@keys_group.command("purge-retired")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Delete keys retired longer ago than this [default: the backup retention period].")
@with_appcontext
def keys_purge_retired(days: int | None) -> None:
    """Delete the data keys tenant rotations retired; backups older than the rotation then stay unreadable."""
    import datetime as dt

    from trustcenter.audit import service as audit

    days = current_app.config["BACKUP_RETENTION_DAYS"] if days is None else days
    count = current_app.extensions["keys"].purge_retired(dt.timedelta(days=days))
    session = db.session()
    audit.record(session, "keys.purge_retired", details={"data_keys": count, "older_than_days": days})
    session.commit()
    click.echo(f"Deleted {count} data key(s) retired more than {days} day(s) ago.")


def main() -> None:
    cli(prog_name="trustcenter")
