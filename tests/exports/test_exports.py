"""A person's export and an organisation's: complete, valid against its schema, verifiable, and nobody else's."""

from __future__ import annotations

import json

import jsonschema
from sqlalchemy import select

from tests.exports.conftest import built, checked_files, download, export_id_from, prepare, signed_in
from tests.requests.conftest import file_request
from trustcenter.accounts.models import Organisation
from trustcenter.audit import AuditEntry
from trustcenter.extensions import db


def seeded_values(key: str) -> list[str]:
    """What the `people` fixture stored about one person."""
    name = key.title().replace("_", "")
    return [f"First{name}", f"Last{name}", f"Secret Street {key}", f"cus_{key}_stripe"]


def everyone_else(people, *keys: str) -> list[str]:
    values = []
    for other in people:
        if other not in keys:
            values += seeded_values(other) + [people[other].email]
    return values


def test_a_persons_export_holds_all_of_theirs_and_nothing_of_anyone_elses(app, people):
    member = people["a_member"]
    client = signed_in(app, member)
    file_request(client, "query", {"question": "MY OWN QUESTION"})
    export_id = built(app, client)
    files = checked_files(download(client, export_id))
    data = json.loads(files["data.json"])
    jsonschema.Draft202012Validator(json.loads(files["schema.json"])).validate(data)
    jsonschema.Draft202012Validator.check_schema(json.loads(files["schema.json"]))
    everything = b"".join(files.values()).decode()
    for value in seeded_values("a_member") + [member.email, "MY OWN QUESTION"]:
        assert value in files["data.json"].decode() and value in files["index.html"].decode(), value
    assert [v for v in everyone_else(people, "a_member") if v in everything] == []
    [person] = data["people"]
    assert person["sign_ins"] and person["sign_ins"][0]["succeeded"] is True
    assert person["requests"][0]["answers"] == {"Your question": "MY OWN QUESTION"}
    assert "password_hash" not in everything and "totp_secret" not in everything
    assert set(files) >= {"data/people.csv", "data/sign_ins.csv", "data/requests.csv", "data/messages.csv",
                          "data/audit_entries.csv", "about.json", "index.html"}
    assert files["data/people.csv"].decode().splitlines()[0].startswith("person_id,email,first_name")
    about = json.loads(files["about.json"])
    assert about["recipients"] and "supervisory authority" in " ".join(about["your_rights"])
    assert "<script" not in files["index.html"].decode() and "http" not in files["index.html"].decode().split(
        "</style>")[0]  # self-contained: no external requests


def test_an_organisations_export_holds_its_people_only(app, people, runner):
    admin = people["a_admin"]
    client = signed_in(app, admin)
    file_request(signed_in(app, people["a_member"]), "query", {"question": "MEMBER QUESTION"})
    with app.app_context():  # an erased colleague leaves nothing to export, and breaks nothing
        from trustcenter.accounts import service as accounts

        accounts.create_user(db.session(), db.session().get(Organisation, admin.org_id), "gone@a.example",
                             "customer_member", first_name="Gone")
        db.session().commit()
    assert runner.invoke(args=["users", "erase", "gone@a.example", "--yes"]).exit_code == 0
    export_id = built(app, client, "organisation")
    files = checked_files(download(client, export_id))
    data = json.loads(files["data.json"])
    jsonschema.Draft202012Validator(json.loads(files["schema.json"])).validate(data)
    assert data["export"]["scope"] == "organisation" and data["organisation"]["name"] == "Tenant A Ltd"
    assert {p["profile"]["email"] for p in data["people"]} == {admin.email, people["a_member"].email}
    text = files["data.json"].decode()
    assert "MEMBER QUESTION" in text
    assert [v for v in everyone_else(people, "a_admin", "a_member") if v in text] == []


def test_members_cannot_export_the_organisation_and_a_second_export_waits(app, people):
    member = signed_in(app, people["a_member"])
    assert prepare(member, "organisation").status_code == 200  # refused, explained on the page
    first = prepare(member)
    assert first.status_code == 303
    again = prepare(member)
    assert again.status_code == 200 and "being prepared already" in again.get_data(as_text=True)


def test_progress_is_shown_and_the_download_is_audited(app, people):
    client = signed_in(app, people["a_member"])
    export_id = export_id_from(prepare(client))
    waiting = client.get(f"/account/exports/{export_id}").get_data(as_text=True)
    assert "<progress" in waiting and 'hx-trigger="every 1s"' in waiting
    fragment = client.get(f"/account/exports/{export_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith("<section") and "<html" not in fragment
    from tests.conftest import run_worker_tasks

    run_worker_tasks(app)
    ready = client.get(f"/account/exports/{export_id}").get_data(as_text=True)
    assert "Download the ZIP" in ready and "every 1s" not in ready
    download(client, export_id)
    with app.app_context():
        actions = db.session().scalars(select(AuditEntry.action)).all()
    assert {"export.requested", "export.ready", "export.downloaded"} <= set(actions)
