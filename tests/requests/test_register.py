"""The register as CSV: what the filters select, no requester's details, formulas defused, downloads audited."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from tests.conftest import PASSWORD, Auth, Person
from tests.requests.conftest import file_request, load, request_id_from
from trustcenter.accounts import service as accounts
from trustcenter.audit import AuditEntry
from trustcenter.extensions import db


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_staff_download_the_register_with_the_queues_filters(app, auth, client, people, staff_client):
    auth.login(people["a_member"])
    query = request_id_from(file_request(client, "query", {"question": "Q"}))
    erasure = request_id_from(file_request(client, "erasure", {}))
    everything = rows_of(staff_client.get("/staff/requests.csv"))
    assert {row["reference"] for row in everything} == {load(app, query).reference, load(app, erasure).reference}
    assert everything[0].keys() >= {"reference", "type", "state", "customer", "received", "due"}
    assert all(row["customer"] == "Tenant A Ltd" for row in everything)
    body = staff_client.get("/staff/requests.csv").get_data(as_text=True)
    assert people["a_member"].email not in body and "FirstAMember" not in body
    only = rows_of(staff_client.get("/staff/requests.csv?kind=erasure"))
    assert [row["reference"] for row in only] == [load(app, erasure).reference]
    with app.app_context():
        assert "requests.register_downloaded" in db.session().scalars(select(AuditEntry.action)).all()


def test_a_cell_a_spreadsheet_would_run_is_kept_as_text(app, people, staff_client):
    with app.app_context():
        session = db.session()
        org = accounts.create_organisation(session, '=HYPERLINK("http://evil.example")')
        member = accounts.create_user(session, org, "m@evil.example", "customer_member", password=PASSWORD)
        session.commit()
        person = Person(member.id, "m@evil.example", org.id, "customer_member")
    client = app.test_client()
    Auth(client).login(person)
    file_request(client, "query", {"question": "Q"})
    [row] = rows_of(staff_client.get("/staff/requests.csv"))
    assert row["customer"].startswith("'=HYPERLINK")


def test_only_provider_roles_can_download_it(app, auth, client, people):
    auth.login(people["a_admin"])
    assert client.get("/staff/requests.csv").status_code == 404
    assert app.test_client().get("/staff/requests.csv").status_code == 302
