"""`trustcenter orgs` and `trustcenter users`: create tenants and people from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from trustcenter.accounts import service
from trustcenter.accounts.models import PROVIDER
from trustcenter.accounts.roles import Role
from trustcenter.accounts.service import AccountError
from trustcenter.extensions import db
from trustcenter.faq.current import current_content


@click.group("orgs")
def orgs_group() -> None:
    """Customer organisations (tenants)."""


@orgs_group.command("create")
@click.argument("name")
@with_appcontext
def orgs_create(name: str) -> None:
    """Create organisation NAME with its own encryption key."""
    session = db.session()
    try:
        org = service.create_organisation(session, name)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    service.record(session, service.Actor(), "org.created", org)
    session.commit()
    click.echo(f"Created organisation {org.name} ({org.id}).")


@click.group("users")
def users_group() -> None:
    """People who sign in."""


@users_group.command("create")
@click.option("--email", required=True, help="Their e-mail address, used to sign in.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--org", "org_name", help="Their organisation; staff, DPO and administrators belong to the provider.")
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
@with_appcontext
def users_create(email: str, role: str, org_name: str | None, first_name: str, last_name: str,
                 password_stdin: bool) -> None:
    """Create a user; the password is prompted for (or read with --password-stdin)."""
    session = db.session()
    org = _organisation_for(session, Role(role), org_name)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    try:
        user = service.create_user(session, org, email, role, password=password,
                                   first_name=first_name or None, last_name=last_name or None)
    except AccountError as error:
        session.rollback()
        raise click.ClickException(str(error)) from None
    service.record(session, service.Actor(), "user.created", user, role=role)
    session.commit()
    click.echo(f"Created {Role(role).label} {email} in {org.name}.")


def _organisation_for(session, role: Role, org_name: str | None):
    if role.is_provider:
        company = current_content().site.company
        org = service.provider_organisation(session, company)
        if org_name and org_name != org.name:
            raise click.ClickException(f"{role.label} accounts belong to {org.name}, not {org_name}.")
        return org
    if not org_name:
        raise click.ClickException("Customer accounts need --org NAME (create it with `trustcenter orgs create`).")
    org = service.organisation_named(session, org_name)
    if org is None or org.kind == PROVIDER:
        raise click.ClickException(f"No customer organisation called {org_name!r}.")
    return org
