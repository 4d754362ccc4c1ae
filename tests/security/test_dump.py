"""A raw dump of the database holds none of the seeded personal data in clear text."""

from __future__ import annotations

import os
import subprocess

from sqlalchemy import make_url

from tests.conftest import csrf_token_from


def seeded_values(people) -> list[str]:
    values = []
    for key, person in people.items():
        name = key.title().replace("_", "")
        values += [person.email, f"First{name}", f"Last{name}", f"Secret Street {key}"]
        if not key.startswith(("staff", "dpo", "admin")):
            values.append(f"cus_{key}_stripe")
        if person.totp_secret:
            values.append(person.totp_secret)
    # Tenant names are customer data too.
    return values + ["invitee.for.dump@a.example", "Wonderland", "Tenant A Ltd", "Tenant B Ltd", "Cloud Stem"]


def exercise(app, auth, client, people) -> None:
    """Touch every store of personal data: sign-ins, audit entries, the mail outbox, tokens."""
    auth.login(people["a_admin"])
    auth.post("/account/team", {"email": "invitee.for.dump@a.example", "role": "customer_member"},
              page="/account/team")
    client.post("/account/logout", data={"csrf_token": csrf_token_from(client.get("/account/").get_data(as_text=True))})
    page = client.get("/account/reset")
    client.post("/account/reset", data={"email": people["b_member"].email,
                                         "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    auth.login(people["staff"])
    client.get("/staff/audit")


def raw_dump(database_url: str) -> bytes:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        data = b""
        for suffix in ("", "-wal", "-journal"):
            if os.path.exists(url.database + suffix):
                with open(url.database + suffix, "rb") as handle:
                    data += handle.read()
        return data
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--no-owner", libpq], check=True, capture_output=True).stdout


def in_clear(dump: bytes, people) -> list[str]:
    return [v for v in seeded_values(people) if v.encode() in dump or v.lower().encode() in dump.lower()]


def test_database_dump_contains_no_personal_data_in_clear(app, auth, client, people, databases):
    exercise(app, auth, client, people)
    dump = raw_dump(databases.url)
    assert b"content_versions" in dump or b"users" in dump  # the dump is real
    assert in_clear(dump, people) == []
    assert b"data_keys" not in dump and b"tenant_keys" not in dump  # no key material beside the data


def test_key_store_dump_holds_no_personal_data_or_tenant_name(app, auth, client, people, databases):
    exercise(app, auth, client, people)
    dump = raw_dump(databases.keystore_url)
    assert b"data_keys" in dump  # the dump is real
    assert in_clear(dump, people) == []
