"""Tenant isolation and deny-by-default: every route, every role, and anonymously."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import csrf_token_from

ROLES = ["a_admin", "a_member", "staff", "dpo", "admin", None]
# Placeholder values for URL arguments; tokens are random, so they must answer "expired".
ARGUMENTS = {"token": "not-a-real-token-but-long-enough-to-look-real", "slug": "data-breach", "action": "role"}


def tenant_b_request(app: Flask, people) -> str:
    """A rights request by tenant B's member, filed once per application, as the service files it."""
    from trustcenter.accounts.models import User
    from trustcenter.extensions import db
    from trustcenter.requests import service
    from trustcenter.requests.mail import send
    from tests.conftest import run_worker_tasks
    from trustcenter.exports import service as export_service
    from trustcenter.requests.models import Kind, RequestAttachment

    if "test_b_request" not in app.extensions:
        with app.app_context():
            session = db.session()
            member = session.get(User, people["b_member"].user_id)
            filed = service.file_request(session, service.Viewer(member), Kind.QUERY, {"question": "From B"},
                                         service.Clock(), send, "dpo@provider.example")
            service.post_message(session, service.Viewer(member), filed, "File from B", send, service.Clock(),
                                 "dpo@provider.example", attachment=service.Upload("b.txt", b"B's own file"))
            [attachment] = session.scalars(select(RequestAttachment)).all()
            export = export_service.request_export(session, export_service.Actor(member), "person")
            incident_id, notice_id, change_id = tenant_b_notice(session, people)
            attestation_id = tenant_b_attestation(app, session, people)
            app.extensions["test_b_request"] = (filed.id, attachment.id, export.id, incident_id, notice_id,
                                                change_id, attestation_id)
            db.session.remove()
        run_worker_tasks(app)  # builds B's export
    return app.extensions["test_b_request"]


def tenant_b_notice(session, people) -> tuple[str, str, str]:
    """An incident that affects tenant B alone, with a published notice; a subprocessor change B objected to."""
    import datetime as dt

    from trustcenter.accounts.models import User
    from trustcenter.notices import service as notices
    from trustcenter.notices.models import Phase, Severity

    staff, dpo = (notices.Actor(session.get(User, people[key].user_id)) for key in ("staff", "dpo"))
    incident = notices.record_incident(session, staff, notices.Facts("B's incident", "B only"), Severity.HIGH,
                                       dt.datetime.now(dt.timezone.utc), [people["b_admin"].org_id])
    notice = notices.draft_notice(session, staff, incident, Phase.INITIAL, "For B", "B's notice")
    notices.publish(session, dpo, incident, notice)
    from trustcenter.notices import subprocessors

    change = subprocessors.announce(session, staff.user, None, "Mailer Ltd", "Added for e-mail", "")
    subprocessors.object_to(session, session.get(User, people["b_admin"].user_id), None, change,
                            f"Objection from {people['b_admin'].email}")
    return incident.id, notice.id, change.id


def tenant_b_attestation(app: Flask, session, people) -> str:
    """Tenant B's posture attestation, signed and stored as a download makes it."""
    from trustcenter.accounts.models import Organisation
    from trustcenter.attestations.issuing import posture_for

    with app.test_request_context():
        return posture_for(session, session.get(Organisation, people["b_admin"].org_id), None).id


def concrete_urls(app: Flask, method: str, people=None) -> list[str]:
    """Every route with its arguments filled in; object ids point at tenant B's objects."""
    arguments = dict(ARGUMENTS, org_id=people["b_admin"].org_id if people else "0" * 36,
                     user_id=people["b_member"].user_id if people else "0" * 36,
                     request_id=tenant_b_request(app, people)[0] if people else "0" * 36,
                     file_id=tenant_b_request(app, people)[1] if people else "0" * 36,
                     export_id=tenant_b_request(app, people)[2] if people else "0" * 36,
                     incident_id=tenant_b_request(app, people)[3] if people else "0" * 36,
                     notice_id=tenant_b_request(app, people)[4] if people else "0" * 36,
                     change_id=tenant_b_request(app, people)[5] if people else "0" * 36,
                     attestation_id=tenant_b_request(app, people)[6] if people else "0" * 36)
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or method not in (rule.methods or ()):
            continue
        urls.append(rule.build({name: arguments[name] for name in rule.arguments}, append_unknown=False)[1])
    return sorted(set(urls))


def readable_body(response) -> str:
    """The text a visitor can read: a PDF's extracted text, any other body as it is."""
    if response.mimetype != "application/pdf":
        return response.get_data(as_text=True)
    from tests.attestations.conftest import text_of

    return text_of(response.data)


def tenant_b_values(people) -> list[str]:
    values = []
    for key in ("b_admin", "b_member"):
        name = key.title().replace("_", "")
        values += [people[key].email, f"First{name}", f"Last{name}", f"Secret Street {key}", f"cus_{key}_stripe",
                   people[key].user_id, people[key].org_id]
    return values + ["Tenant B Ltd"]


def test_every_route_declares_who_may_use_it(app):
    undeclared = [endpoint for endpoint, view in app.view_functions.items()
                  if endpoint != "static" and not hasattr(view, "access")]
    assert undeclared == []


def test_a_route_without_a_rule_is_refused(app):
    @app.get("/forgot-to-declare")
    def forgotten():
        return "secret"

    assert app.test_client().get("/forgot-to-declare").status_code == 404


@pytest.mark.parametrize("who", ROLES)
def test_no_page_reveals_another_tenant(app, auth, client, people, who):
    if who:
        auth.login(people[who])
    forbidden = tenant_b_values(people)
    provider = who in ("staff", "dpo", "admin")
    for url in concrete_urls(app, "GET", people):
        response = client.get(url)
        assert response.status_code < 500, url
        if provider and url.startswith(("/staff/customers", "/staff/people", "/staff/requests", "/staff/audit",
                                       "/staff/incidents", "/staff/subprocessor-changes", "/staff/attestations")):
            continue  # staff may see customers' data there (the audit log names people too); each view is audited
        if url.startswith("/staff/customers/"):
            assert response.status_code in (302, 303, 404), f"{url} as {who}"
        body = readable_body(response)
        # An id the visitor put in the URL may come back (e.g. in a sign-in link's `next`).
        leaked = [value for value in forbidden if value in body and value not in url]
        assert leaked == [], f"{url} as {who} shows {leaked}"
        if who is None and url.startswith(("/account/", "/staff/")) and "token" not in url:
            assert response.status_code in (200, 302, 303, 410), url
            assert response.status_code != 200 or url in ("/account/login", "/account/reset"), url


@pytest.mark.parametrize("who", ROLES)
def test_every_post_as_every_role_is_a_clean_answer(app, auth, client, people, who):
    if who:
        auth.login(people[who])
    token = csrf_token_from(client.get("/account/login" if who is None else "/account/").get_data(as_text=True))
    for url in concrete_urls(app, "POST", people):
        if url.endswith(("/logout", "/logout-everywhere")):
            continue  # would end the walk early
        response = client.post(url, data={"csrf_token": token, "email": people["b_member"].email})
        assert response.status_code < 500, url
        if who == "admin" and url.startswith("/staff/people"):
            continue  # administrators manage everyone's account there; each view is audited
        if who in ("staff", "dpo", "admin") and url.startswith(("/staff/incidents", "/staff/subprocessor-changes")):
            continue  # an incident names the customers it affects; staff read objections
        # The posted address may be echoed back in the form, an id in the URL in a sign-in link's `next`;
        # nothing else of tenant B may appear.
        echoed = people["b_member"].email
        body = response.get_data(as_text=True)
        assert [v for v in tenant_b_values(people) if v != echoed and v in body and v not in url] == [], url


def test_post_without_csrf_is_refused_everywhere(app, auth, client, people):
    auth.login(people["a_admin"])
    for url in concrete_urls(app, "POST"):
        if url.startswith("/unsubscribe/"):
            continue  # RFC 8058 one-click: the token in the address is the proof (tests/notices/test_subscriptions.py)
        assert client.post(url, data={}).status_code == 400, url


def test_customer_admin_sees_only_their_own_team(auth, client, people):
    auth.login(people["a_admin"])
    page = client.get("/account/team").get_data(as_text=True)
    assert people["a_member"].email in page
    assert people["b_member"].email not in page and people["staff"].email not in page


def test_customers_cannot_reach_staff_pages(auth, client, people):
    auth.login(people["a_admin"])
    assert client.get("/staff/audit").status_code == 404


def test_staff_viewing_personal_data_is_audited(auth, client, people, session):
    from sqlalchemy import select

    from trustcenter.audit import AuditEntry

    auth.login(people["staff"])
    page = client.get(f"/staff/customers/{people['b_admin'].org_id}")
    assert page.status_code == 200 and people["b_member"].email.encode() in page.data
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "personal_data.viewed" in actions


def test_unknown_customer_is_404_for_staff(auth, client, people):
    auth.login(people["staff"])
    assert client.get("/staff/customers/" + "f" * 36).status_code == 404
    assert client.get("/staff/customers/" + "f" * 400).status_code == 404


def test_reading_the_audit_log_is_audited_and_paginates_with_htmx(app, auth, client, people, session):
    from sqlalchemy import func, select

    from trustcenter.audit import AuditEntry, record

    with app.app_context():
        from trustcenter.extensions import db

        own = db.session()
        for number in range(60):
            record(own, "test.event", details={"n": number})
        own.commit()
        db.session.remove()
    auth.login(people["staff"])
    page = client.get("/staff/audit").get_data(as_text=True)
    assert page.count(">test.event</code>") == 49  # 50 rows, the newest being the sign-in
    older = page.split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
    fragment = client.get(older, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and fragment.count(">test.event</code>") == 11
    viewed = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "audit.viewed"))
    assert viewed == 2
