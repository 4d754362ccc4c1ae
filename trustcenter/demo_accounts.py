"""Synthetic demo tenants and people for every role; development only.

Passwords are random per installation and kept, with every recovery code, in
`instance/demo_credentials.txt` so `make run` can print them again; nothing
here is a real person.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Iterator

from sqlalchemy.orm import Session

from trustcenter.accounts import mfa, second_factor, service
from trustcenter.accounts.models import CUSTOMER
from trustcenter.accounts.roles import Role

PEOPLE = [
    # org (None = the provider), role, e-mail, first, last, country, state, timezone, address
    (None, Role.ADMIN, "admin@cloudstem.example", "Ada", "Admin", "United Kingdom", "England", "Europe/London",
     "1 Example Street, London"),
    (None, Role.DPO, "dpo@cloudstem.example", "Dana", "Protection", "United Kingdom", "England", "Europe/London",
     "1 Example Street, London"),
    (None, Role.STAFF, "support@cloudstem.example", "Sam", "Support", "United Kingdom", "Scotland", "Europe/London",
     "2 Sample Road, Edinburgh"),
    ("Northwind Analytics Ltd", Role.CUSTOMER_ADMIN, "priya.admin@northwind.example", "Priya", "Shah",
     "United Kingdom", "England", "Europe/London", "10 Demo Lane, Manchester"),
    ("Northwind Analytics Ltd", Role.CUSTOMER_MEMBER, "tom.member@northwind.example", "Tom", "Byrne",
     "Ireland", "Leinster", "Europe/Dublin", "4 Fictional Quay, Dublin"),
    ("Bluebell Health CIC", Role.CUSTOMER_ADMIN, "lena.admin@bluebell.example", "Lena", "Vogel",
     "Germany", "Berlin", "Europe/Berlin", "Musterstraße 5, Berlin"),
    ("Bluebell Health CIC", Role.CUSTOMER_MEMBER, "omar.member@bluebell.example", "Omar", "Haddad",
     "France", "Île-de-France", "Europe/Paris", "12 rue de l'Exemple, Paris"),
]
CREDENTIALS_FILE = "demo_credentials.txt"
# Below this line the file keeps every demo recovery code; the printout shows one each.
RECOVERY_CODES_HEADING = "All recovery codes (each works once):"


def _password() -> str:
    return "demo-" + "-".join(secrets.token_hex(3) for _ in range(3))


def load_accounts(session: Session, company: str, instance_path: Path) -> Iterator[str]:
    """Create the demo organisations and people once; return the lines to print."""
    credentials = instance_path / CREDENTIALS_FILE
    if service.users_with_email(session, PEOPLE[0][2]):
        if credentials.is_file():
            yield from credentials.read_text(encoding="utf-8").split(RECOVERY_CODES_HEADING)[0].splitlines()
        return
    provider = service.provider_organisation(session, company)
    orgs = {None: provider}
    lines = ["Demo accounts (development only; synthetic people):"]
    all_codes = [RECOVERY_CODES_HEADING]
    for org_name, role, email, first, last, country, state, timezone, address in PEOPLE:
        if org_name not in orgs:
            orgs[org_name] = service.create_organisation(session, org_name, CUSTOMER)
        password = _password()
        user = service.create_user(session, orgs[org_name], email, role, password=password, first_name=first,
                                   last_name=last, country=country, state=state, timezone=timezone,
                                   address=address, company_name=orgs[org_name].name,
                                   username=email.split("@")[0],
                                   stripe_customer_id=None if role.is_provider else f"cus_demo{secrets.token_hex(6)}")
        line = f"  {role.label:<38} {email:<34} password: {password}"
        if role.is_provider:
            secret = mfa.new_secret()
            user.totp_secret, user.totp_enabled = secret, True
            codes = second_factor.replace_recovery_codes(session, user)
            line += (f"\n  {'':<38} TOTP secret (add it to an authenticator app): {secret}"
                     f"\n  {'':<38} one recovery code: {codes[0]} ({len(codes) - 1} more in {credentials})")
            all_codes.append(f"  {email}: {' '.join(codes)}")
        lines.append(line)
    session.commit()
    instance_path.mkdir(parents=True, exist_ok=True)
    credentials.write_text("\n".join(lines + all_codes) + "\n", encoding="utf-8")
    credentials.chmod(0o600)
    yield from lines
