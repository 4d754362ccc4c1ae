"""Services write ordinary SQLAlchemy: add, assign, query and commit in any order, with keys cold or warm.

Hypothesis draws sequences of operations on users, invitations, outbox mail and
audit entries, each built in a drawn order (assign before or after `add`, a
query in between that autoflushes the half-built row), with the key cache
dropped or kept between steps. Everything is then read back through a fresh
session with a cold cache.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from trustcenter.accounts import service
from trustcenter.accounts.models import User
from trustcenter.audit import service as audit
from trustcenter.audit.models import AuditEntry
from trustcenter.crypto import keys_of
from trustcenter.notify import queue_mail
from trustcenter.notify.models import OutboxMessage

from tests.conftest import new_session

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30)
STEPS = st.permutations(["add", "email", "first_name", "query"])
OPERATION = st.one_of(
    st.tuples(st.just("user"), NAME, STEPS),
    st.tuples(st.just("rename"), st.integers(0, 10), NAME),
    st.tuples(st.just("invite"), st.integers(0, 10)),
    st.tuples(st.just("mail"), TEXT, TEXT),
    st.tuples(st.just("audit"), TEXT),
    st.tuples(st.just("commit")),
    st.tuples(st.just("cold")),
)


@pytest.fixture(params=[0, 60], ids=["cache-off", "cache-on"])
def app_config(app_config, request):
    return {**app_config, "KEY_CACHE_SECONDS": request.param}


def build_user(session, org, first_name: str, steps: list[str]) -> tuple[User, str]:
    """A user assembled in the drawn order, as a service might write it."""
    email = f"p{uuid.uuid4().hex[:12]}@order.example"
    user = User(org_id=org.id, role="customer_member", status="active",
                email_index=service.email_index(session, email),
                data_key_id=keys_of(session).create_data_key(org.id))
    for step in steps:
        if step == "add":
            session.add(user)
        elif step == "email":
            user.email = email
        elif step == "first_name":
            user.first_name = first_name
        else:  # a query autoflushes whatever is pending
            session.scalar(select(func.count()).select_from(User))
    session.add(user)
    return user, email


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATION, min_size=1, max_size=10))
def test_any_order_reads_back(app, people, operations):
    session = new_session()
    try:
        ids, mails, actions = apply(session, people, operations)
    finally:
        session.close()
    keys_of(session).forget()  # read everything back with nothing cached
    with new_session() as fresh:
        for user_id, email, first in ids:
            user = fresh.get(User, user_id)
            assert (user.email, user.first_name) == (email, first)
            assert service.users_with_email(fresh, email)[0].id == user_id
        stored = {(m.recipient, m.subject, m.text_body) for m in fresh.scalars(select(OutboxMessage))}
        assert set(mails) <= stored
        logged = {e.action: e.details for e in fresh.scalars(select(AuditEntry).where(AuditEntry.action.in_(actions)))}
        assert set(logged) == set(actions) and all("note" in details for details in logged.values())
    assert audit_chain_verifies(app)


def apply(session, people, operations):
    """Carry out the drawn operations; returns what must read back."""
    keys = keys_of(session)
    org = session.get(service.Organisation, people["a_admin"].org_id)
    users: list[tuple[User, str, str]] = []  # (user, e-mail, expected first name)
    mails: list[tuple[str, str, str]] = []
    actions: list[str] = []
    for operation in operations:
        kind = operation[0]
        if kind == "user":
            user, email = build_user(session, org, operation[1], operation[2])
            users.append((user, email, operation[1]))
        elif kind == "rename" and users:
            user, email, _ = users[operation[1] % len(users)]
            user.first_name = operation[2]
            users[operation[1] % len(users)] = (user, email, operation[2])
        elif kind == "invite" and users:
            user, email, _ = users[operation[1] % len(users)]
            service.issue_token(session, user, "invite", service.INVITE_TTL)  # queries, then adds
            subject = f"Invitation {len(mails)}"
            queue_mail(session, to=email, subject=subject, text="Join us", html="<p>Join us</p>")
            mails.append((email, subject, "Join us"))
        elif kind == "mail":
            to = f"m{len(mails)}@mail.example"
            queue_mail(session, to=to, subject=" ".join(operation[1].split()) or "x",
                       text=operation[2] if operation[2].strip() else "x", html="<p>x</p>")
            message = session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at.desc())).first()
            mails.append((to, message.subject, message.text_body))
        elif kind == "audit":
            action = f"test.{len(actions)}"
            audit.record(session, action, details={"note": operation[1]})
            actions.append(action)
        elif kind == "commit":
            session.commit()
        elif kind == "cold":
            keys.forget()
    session.commit()
    return [(user.id, email, first) for user, email, first in users], mails, actions


def audit_chain_verifies(app) -> bool:
    from trustcenter.audit import verify

    with new_session() as session:
        return verify(session, app.extensions["keys"].root.audit_verify).ok
