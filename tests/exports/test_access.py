"""Exports reach only their own people: other tenants, other people, expired and purged ones answer 404."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from tests.conftest import Auth
from tests.exports.conftest import built, signed_in
from tests.requests.conftest import file_request
from tests.security.test_dump import in_clear, raw_dump
from trustcenter.exports.models import Export, ExportChunk
from trustcenter.exports.service import purge_expired
from trustcenter.extensions import db

ROLES = ("anonymous", "a_admin", "a_member", "b_admin", "b_member", "staff", "dpo", "admin")


@pytest.fixture
def exports(app, people) -> dict[str, str]:
    """The member's own export and the administrator's organisation export, both of tenant A, ready."""
    member, admin = signed_in(app, people["a_member"]), signed_in(app, people["a_admin"])
    return {"person": built(app, member), "organisation": built(app, admin, "organisation")}


# Who may fetch which export of tenant A (nobody else, not even our staff).
ALLOWED = {"person": {"a_member"}, "organisation": {"a_admin"}}


@pytest.mark.parametrize("who", ROLES)
def test_each_export_opens_for_its_own_people_only(app, people, exports, who):
    client = app.test_client()
    if who != "anonymous":
        Auth(client).login(people[who])
    for scope, export_id in exports.items():
        for path in (f"/account/exports/{export_id}", f"/account/exports/{export_id}/download"):
            status = client.get(path).status_code
            if who == "anonymous":
                assert status == 302, path
            elif who in ALLOWED[scope]:
                assert status == 200, (path, who)
            else:
                assert status == 404, (path, who)


@pytest.mark.parametrize("who", ("a_member", "a_admin"))
def test_expired_and_purged_exports_are_gone(app, people, exports, who):
    client = signed_in(app, people[who])
    export_id = exports["person" if who == "a_member" else "organisation"]
    with app.app_context():
        session = db.session()
        key_id = session.get(Export, export_id).data_key_id
        session.execute(update(Export).where(Export.id == export_id).values(
            expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
        session.commit()
    assert client.get(f"/account/exports/{export_id}/download").status_code == 404
    assert client.get(f"/account/exports/{export_id}").status_code == 404
    with app.app_context():
        session = db.session()
        assert purge_expired(session) >= 1
        assert session.get(Export, export_id) is None
        assert session.scalars(select(ExportChunk).where(ExportChunk.export_id == export_id)).all() == []
    assert app.extensions["keys"].is_destroyed(key_id)
    assert client.get(f"/account/exports/{export_id}/download").status_code == 404


def test_a_stored_export_is_sealed_in_a_raw_dump(app, people, databases):
    member = signed_in(app, people["a_member"])
    file_request(member, "query", {"question": "DUMPED QUESTION TEXT"})
    built(app, member)
    built(app, signed_in(app, people["a_admin"]), "organisation")
    dump = raw_dump(databases.url)
    assert b"export_chunks" in dump  # the dump is real
    # A ZIP names its files in clear in every header: none of them may show, nor any value.
    for marker in (b"data.json", b"manifest.json", b"schema.json", b"DUMPED QUESTION TEXT"):
        assert marker not in dump, marker
    assert in_clear(dump, people) == []
