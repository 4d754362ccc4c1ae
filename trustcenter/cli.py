"""The `trustcenter` command: Flask's CLI plus database, content and demo commands."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from trustcenter import create_app
from trustcenter.extensions import db


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def cli() -> None:
    """Manage the trust center."""


def register_commands(app: Flask) -> None:
    """Attach every command group to the app, so `flask` and `trustcenter` both see them."""
    for command in (db_group, content_group, demo):
        app.cli.add_command(command)


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database schema to REVISION (default: the latest)."""
    from trustcenter import migrate

    migrate.upgrade(db.engine, revision)
    click.echo(f"Database is at revision {revision}.")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Migrate the database schema back to REVISION."""
    from trustcenter import migrate

    migrate.downgrade(db.engine, revision)
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
    content = current_app.extensions["content"].current()
    click.echo(f"Content version {content.version[:12]}: {len(content.sections)} sections, "
               f"{content.question_count} questions, {len(content.site.subprocessors)} subprocessors.")


@content_group.command("publish")
@click.option("--note", default="", help="A sentence for the changelog.")
@with_appcontext
def content_publish(note: str) -> None:
    """Record the current content as a new version in the changelog."""
    from trustcenter.faq import service

    content = current_app.extensions["content"].current()
    version = service.publish(db.session(), content, note=note)
    if version is None:
        click.echo(f"Content version {content.version[:12]} is already published.")
    else:
        click.echo(f"Published content version {content.version[:12]}.")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Load synthetic demo data; running it again changes nothing."""
    from trustcenter import demo as demo_data

    for line in demo_data.load(db.session(), current_app.extensions["content"].current()):
        click.echo(line)


def main() -> None:
    cli(prog_name="trustcenter")
