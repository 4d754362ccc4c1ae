"""Subscriptions to changes of the FAQ and the subprocessor list: double opt-in, one-click unsubscribe, digests.

No Flask imports: mail is composed by callables the routes and the worker pass in. Links carry a token made
from the subscription's id with the root blind-index key (an HMAC): nothing to store, and it stops working
when the subscription is gone.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustcenter.accounts.models import User
from trustcenter.accounts.service import email_index, normalise_email, provider_organisation
from trustcenter.audit import service as audit
from trustcenter.crypto import CryptoError, keys_of
from trustcenter.crypto.fields import reseal
from trustcenter.db import as_utc, utcnow
from trustcenter.faq import service as faq
from trustcenter.faq.models import ContentVersion
from trustcenter.notices.models import Subscription
from trustcenter.notify import queue_mail
from trustcenter.requests.fulfilment import wants_optional_mail

PENDING, CONFIRMED = "pending", "confirmed"
CONFIRM_DAYS = 7
KEY_PURPOSE = "subscription"
DIGEST_BATCH = 200
# (to, template, context) -> queues one mail; the routes and the worker render it.
Mailer = Callable[..., None]


class SubscriptionError(ValueError):
    """What was wrong, said so the person can fix it."""


@dataclass(frozen=True)
class Digest:
    """What changed between two content versions, for one mail."""

    version: ContentVersion
    entry: faq.ChangelogEntry
    subprocessors: list[str]

    @property
    def faq_changed(self) -> bool:
        return bool(self.entry.added or self.entry.changed or self.entry.removed)


def token_for(session: Session, subscription: Subscription, purpose: str) -> str:
    return f"{subscription.id}.{_mac(session, subscription.id, purpose)}"


def _mac(session: Session, subscription_id: str, purpose: str) -> str:
    return keys_of(session).blind_index(f"subscription:{purpose}:{subscription_id}")[:40]


TOKEN = re.compile(r"[0-9a-f-]{36}\.[0-9a-f]{40}")


def from_token(session: Session, token: str, purpose: str) -> Subscription | None:
    if not TOKEN.fullmatch(token or ""):
        return None
    subscription_id, _, mac = token.partition(".")
    if not hmac.compare_digest(mac, _mac(session, subscription_id, purpose)):
        return None
    return session.get(Subscription, subscription_id)


def subscribe(session: Session, address: str, faq_topic: bool, subprocessors_topic: bool, send: Mailer,
              ip: str | None) -> None:
    """Mail a confirmation link (or, for an address already subscribed, a note with the unsubscribe link).
    Says the same either way, so nobody learns who is subscribed."""
    if not (faq_topic or subprocessors_topic):
        raise SubscriptionError("Choose what you would like to hear about.")
    try:
        normalised = normalise_email(address)
    except ValueError as error:
        raise SubscriptionError(str(error)) from None
    index = email_index(session, normalised)
    found = session.scalars(select(Subscription).where(Subscription.address_index == index)).first()
    # Both paths do the same work (a mail, an audit entry, no new key), so the time says nothing either.
    if found is not None and found.state == CONFIRMED:
        send(session, found.email, "subscription_exists", subscription=found,
             unsubscribe=token_for(session, found, "unsubscribe"))
    else:
        if found is None:
            found = Subscription(address_index=index, state=PENDING, email=normalised)  # under the service's key
            session.add(found)
        found.faq, found.subprocessors, found.created_at = faq_topic, subprocessors_topic, utcnow()
        try:
            session.flush()
        except IntegrityError:  # the same address, subscribed at the same moment: theirs stands
            session.rollback()
            return
        send(session, normalised, "subscription_confirm", subscription=found,
             confirm=token_for(session, found, "confirm"))
    audit.record(session, "subscription.requested", actor_label="visitor", subject_type="subscription",
                 subject_id=found.id, ip=ip)
    session.commit()


def confirm(session: Session, token: str, ip: str | None, provider_name: str,
            now: dt.datetime | None = None) -> Subscription | None:
    """The second opt-in: within a week of asking. Digests start from the version published now."""
    moment = as_utc(now) if now else utcnow()
    found = from_token(session, token, "confirm")
    if found is None:
        return None
    if found.state == CONFIRMED:
        return found
    if as_utc(found.created_at) + dt.timedelta(days=CONFIRM_DAYS) < moment:
        return None
    latest = faq.latest_version(session)
    found.state, found.confirmed_at = CONFIRMED, moment
    found.last_version_id = latest.id if latest else 0
    reseal(found, keys_of(session).create_data_key(provider_organisation(session, provider_name).id,
                                                   purpose=KEY_PURPOSE))  # a key of its own, to shred
    audit.record(session, "subscription.confirmed", actor_label="visitor", subject_type="subscription",
                 subject_id=found.id, ip=ip)
    session.commit()
    return found


def unsubscribe(session: Session, subscription: Subscription, ip: str | None, actor: User | None = None) -> None:
    """Gone at once: the row deleted and the address crypto-shredded."""
    key_id = _own_key(session, subscription)
    audit.record(session, "subscription.ended", actor_id=actor.id if actor else None,
                 actor_label=actor.role if actor else "visitor", subject_type="subscription",
                 subject_id=subscription.id, ip=ip)
    session.delete(subscription)
    session.commit()
    if key_id:
        keys_of(session).destroy_data_key(key_id)


def _own_key(session: Session, subscription: Subscription) -> str | None:
    """The subscription's own data key; None while it is sealed under the service's key (not confirmed)."""
    shared = keys_of(session).system_data_key(Subscription.__system_key__)
    return subscription.data_key_id if subscription.data_key_id != shared else None


def of_user(session: Session, user: User) -> Subscription | None:
    index = email_index(session, normalise_email(user.email))
    return session.scalars(select(Subscription).where(Subscription.address_index == index)).first()


def set_for_user(session: Session, user: User, faq_topic: bool, subprocessors_topic: bool, provider_name: str,
                 ip: str | None) -> None:
    """Customers manage theirs from their account: their address is proven by signing in, so no mail."""
    found = of_user(session, user)
    if not (faq_topic or subprocessors_topic):
        if found is not None:
            unsubscribe(session, found, ip, user)
        return
    if found is None:
        provider = provider_organisation(session, provider_name)
        found = Subscription(address_index=email_index(session, normalise_email(user.email)),
                             email=normalise_email(user.email),
                             data_key_id=keys_of(session).create_data_key(provider.id, purpose=KEY_PURPOSE))
        session.add(found)
    if found.state != CONFIRMED:
        latest = faq.latest_version(session)
        found.state, found.confirmed_at = CONFIRMED, utcnow()
        found.last_version_id = latest.id if latest else 0
        if _own_key(session, found) is None:  # asked through the form, never confirmed: give it its own key
            reseal(found, keys_of(session).create_data_key(provider_organisation(session, provider_name).id,
                                                           purpose=KEY_PURPOSE))
    found.user_id, found.faq, found.subprocessors = user.id, faq_topic, subprocessors_topic
    try:
        session.flush()
    except IntegrityError:  # a second click at the same moment made it: that one stands
        session.rollback()
        return
    audit.record(session, "subscription.updated", actor_id=user.id, actor_label=user.role,
                 subject_type="subscription", subject_id=found.id, ip=ip,
                 details={"faq": faq_topic, "subprocessors": subprocessors_topic})
    session.commit()


def forget_person(session: Session, user: User) -> None:
    """An erased person's subscriptions go with them (an erasure hook, run before their row is scrubbed): the one
    made from their account, and any made through the public form with their address."""
    found = session.scalars(select(Subscription).where(or_(Subscription.user_id == user.id,
                                                           Subscription.address_index == user.email_index)))
    for subscription in list(found):
        key_id = _own_key(session, subscription)
        session.delete(subscription)
        session.flush()
        if key_id:
            keys_of(session).destroy_data_key(key_id)


def purge_unconfirmed(session: Session, now: dt.datetime | None = None) -> int:
    """Addresses never confirmed are kept a week, then forgotten (they are under the service's key: no key to
    destroy, the row goes)."""
    moment = as_utc(now) if now else utcnow()
    stale = session.execute(delete(Subscription).where(
        Subscription.state == PENDING, Subscription.created_at < moment - dt.timedelta(days=CONFIRM_DAYS)))
    session.commit()
    return stale.rowcount  # type: ignore[attr-defined,no-any-return]


# -- digests --------------------------------------------------------------------------------------------------

def digest_between(session: Session, since_id: int, latest: ContentVersion) -> Digest:
    previous = session.get(ContentVersion, since_id) if since_id else None
    entry = faq.ChangelogEntry(latest)
    if previous is None:
        return Digest(latest, entry, [])
    faq.compare(previous.snapshot, latest.snapshot, entry)
    return Digest(latest, entry, faq.subprocessor_changes(previous.snapshot, latest.snapshot))


def message_id_for(version_id: int, subscription_id: str) -> str:
    return f"<digest-{version_id}.{subscription_id}@trustcenter>"


def send_digests(session: Session, send: Mailer, batch: int = DIGEST_BATCH) -> int:
    """One digest per confirmed subscriber of the latest version's changes they asked about; returns how many.

    Each subscriber is moved to the latest version by a conditional UPDATE in the same transaction as their
    mail: two workers never mail the same person twice, and a crash mails nobody twice.
    """
    latest = faq.latest_version(session)
    if latest is None:
        return 0
    behind = and_(Subscription.state == CONFIRMED,
                  or_(Subscription.last_version_id.is_(None), Subscription.last_version_id < latest.id))
    digests: dict[int, Digest] = {}
    mailed = 0
    due = list(session.scalars(select(Subscription).where(behind).order_by(Subscription.id).limit(batch)))
    keys_of(session).data_aeads([s.data_key_id for s in due])  # one key-store query for the batch's addresses
    # A subscriber with an account who restricted processing, or objected to update mail, gets none (Art. 18, 21).
    people = {user.email_index: user for user in session.scalars(
        select(User).where(User.email_index.in_([s.address_index for s in due])))} if due else {}
    for subscription in due:
        since = subscription.last_version_id or 0
        moved = session.execute(update(Subscription).where(Subscription.id == subscription.id, behind)
                                .values(last_version_id=latest.id), execution_options={"synchronize_session": False})
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            continue
        digest = digests.get(since) or digests.setdefault(since, digest_between(session, since, latest))
        wanted = (subscription.faq and digest.faq_changed) or (subscription.subprocessors and digest.subprocessors)
        try:
            address = subscription.email
        except CryptoError:  # its key was shredded (the person erased) while the row stayed: forget it
            session.delete(subscription)
            continue
        person = people.get(subscription.address_index)
        if person is not None and not wants_optional_mail(person):
            continue
        if since and wanted:
            send(session, address, "digest", subscription=subscription, digest=digest,
                 unsubscribe=token_for(session, subscription, "unsubscribe"),
                 message_id=message_id_for(latest.id, subscription.id))
            mailed += 1
    session.commit()
    return mailed


def queue(session: Session, to: str, subject: str, text: str, html: str, unsubscribe_url: str | None = None,
          message_id: str | None = None) -> None:
    """Queue a subscription mail; digests carry RFC 8058 one-click unsubscribe headers."""
    headers = {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
               "List-Id": "Trust center updates <updates.trustcenter>"} if unsubscribe_url else None
    queue_mail(session, to=to, subject=subject, text=text, html=html, headers=headers, message_id=message_id)
