"""Signed-in pages load what they show in a fixed number of queries, however many people they list."""

from __future__ import annotations

from tests.conftest import captured_statements
from trustcenter.accounts import service
from trustcenter.extensions import db


def add_colleagues(app, org_id: str, how_many: int) -> None:
    with app.app_context():
        session = db.session()
        org = session.get(service.Organisation, org_id)
        for number in range(how_many):
            service.create_user(session, org, f"extra{number}@a.example", "customer_member",
                                first_name=f"Extra{number}", last_name="Colleague")
        session.commit()


def statements_for(client, path: str) -> list[str]:
    client.get(path)  # warm: keys unwrapped once per process, not per page
    with captured_statements(client.application) as statements:
        assert client.get(path).status_code == 200
    return statements


def test_team_page_costs_two_queries_whatever_the_team_size(app, auth, client, people):
    auth.login(people["a_admin"])
    small = statements_for(client, "/account/team")
    add_colleagues(app, people["a_admin"].org_id, 8)
    large = statements_for(client, "/account/team")
    # The viewer with their organisation, the team, and the notices the banner shows.
    assert len(small) == len(large) == 3, large
    assert "notice_receipts" in large[-1]


def test_account_pages_load_the_viewer_and_organisation_in_one_query_and_the_banner_in_another(auth, client, people):
    auth.login(people["a_member"])
    for path in ("/account/", "/account/profile"):
        statements = statements_for(client, path)
        assert len(statements) == 2, (path, statements)  # and one for the breach notices' banner
        assert "organisations" in statements[0] and "notice_receipts" in statements[1]
