"""The pages around signing in, at 1280 px and 390 px: a newcomer's first screens must be as finished as the rest."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.test_accessibility_signed_in import audit_pages, sign_in
from tests.conftest import PASSWORD
from trustcenter.accounts import identity, service
from trustcenter.accounts.models import Organisation, User
from trustcenter.accounts.service import INVITE_TTL, RESET_TTL
from trustcenter.extensions import db


def one_time_links(app, people) -> dict[str, str]:
    """A reset link, an invitation and an enrolment link, issued as the mail would carry them."""
    with app.app_context():
        session = db.session()
        member = session.get(User, people["a_member"].user_id)
        staff = session.get(User, people["staff"].user_id)
        org = session.get(Organisation, people["a_admin"].org_id)
        staff.totp_enabled, staff.totp_secret = False, None  # enrolment links are for people without an app
        invitee = service.create_user(session, org, "newcomer@tenant-a.example", "customer_member", status="invited")
        links = {
            "reset": service.issue_token(session, member, "reset", RESET_TTL),
            "invitation": service.issue_token(session, invitee, "invite", INVITE_TTL),
            "enrol": service.issue_token(session, staff, identity.ENROL, identity.ENROLMENT_LINK_TTL),
        }
        session.commit()
    return links


def test_sign_in_pages_are_accessible(page: Page, live_server, app, people, axe_source, page_errors):
    links = one_time_links(app, people)
    audit_pages(page, live_server, ["/account/login", "/account/reset", f"/account/reset/{links['reset']}",
                                    f"/account/invitation/{links['invitation']}", f"/account/enrol/{links['enrol']}"],
                axe_source, page_errors, role="anonymous")


def test_second_factor_and_confirmation_pages_are_accessible(page: Page, live_server, people, axe_source,
                                                             page_errors):
    dpo = people["dpo"]
    page.goto(f"{live_server}/account/login")
    page.get_by_label("E-mail address").fill(dpo.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/login/verify$"))
    audit_pages(page, live_server, ["/account/login/verify"], axe_source, page_errors, role="dpo")

    page.context.clear_cookies()
    sign_in(page, live_server, dpo)
    audit_pages(page, live_server, ["/account/confirm"], axe_source, page_errors, role="dpo")
