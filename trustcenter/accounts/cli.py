"""`trustcenter orgs` and `trustcenter users`: create tenants and people, and erase people, from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from trustcenter.accounts import erasure, service
from trustcenter.accounts.models import PROVIDER
from trustcenter.accounts.roles import Role
from trustcenter.accounts.service import AccountError
from trustcenter.crypto import CryptoError
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
    if user.mfa_required:
        click.echo(f"Their role requires two-factor authentication: send them an enrolment link with "
                   f"`trustcenter users enrolment-link {email}`.")


@users_group.command("enrolment-link")
@click.argument("email")
@with_appcontext
def users_enrolment_link(email: str) -> None:
    """Mail EMAIL a one-time link to set up two-factor authentication (staff, DPO, administrators)."""
    from trustcenter.accounts import identity
    from trustcenter.accounts.mail import send

    session = db.session()
    try:
        accounts = service.active_users_with_email(session, email)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    if not accounts:
        raise click.ClickException(f"No active account with the address {email}.")
    for user in accounts:
        try:
            identity.issue_enrolment_link(session, user, send, service.Actor())
        except AccountError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Mailed a one-time enrolment link to {user.email} ({user.org.display_name}); "
                   "it works once, within 24 hours.")


@users_group.command("erase")
@click.argument("email")
@click.option("--org", "org_name", help="Only the account in this organisation (default: every account with EMAIL).")
@click.option("--yes", is_flag=True, help="Erase without asking for confirmation.")
@with_appcontext
def users_erase(email: str, org_name: str | None, yes: bool) -> None:
    """Erase the person with address EMAIL by destroying their data key; this cannot be undone."""
    session = db.session()
    try:
        accounts = erasure.accounts_to_erase(session, email, org_name)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    orgs = ", ".join(sorted({user.org.display_name for user in accounts}))
    if not yes:
        click.confirm(f"Erase {_accounts(len(accounts))} with this address ({orgs})? Their personal data becomes "
                      "unreadable for good, in every backup too.", abort=True)
    for user in accounts:
        try:
            erasure.erase_user(session, user, service.Actor())
        except CryptoError as error:
            raise click.ClickException(f"Account {user.id} was not erased, nothing of it changed: {error}") from None
        except erasure.ErasureIncomplete as error:
            raise click.ClickException(f"{error}. Run the same command again to finish.") from None
    click.echo(f"Erased {_accounts(len(accounts))} ({orgs}): the data keys are destroyed and the rows scrubbed.")


def _accounts(count: int) -> str:
    return f"{count} account" if count == 1 else f"{count} accounts"


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
