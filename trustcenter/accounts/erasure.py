"""Erasing a person (GDPR Art. 17) by crypto-shredding: their data key is destroyed, their row scrubbed.

Every personal value of a person is sealed under a data key of their own,
kept only in the key store. Destroying that key makes the values unreadable
everywhere at once: in this database, in its replicas and in every backup of
it. The row stays (audit entries and tenant counts point at it), in the erased
state: no address, no password, no second factor, no personal value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from trustcenter.accounts.models import CUSTOMER, ERASED, AccountToken, Organisation, RecoveryCode, User
from trustcenter.accounts.service import AccountError, Actor, organisation_named, record, users_with_email
from trustcenter.crypto import KeyNotFound, keys_of
from trustcenter.crypto.fields import fields_of
from trustcenter.crypto.models import DestroyedKey

ERASED_INDEX_PREFIX = "erased:"
# `session.info` key: functions (session, user) that other domains register to forget what they hold
# about a person being erased (their requests, say), run in the erasure's own transaction.
ERASURE_HOOKS = "trustcenter.erasure_hooks"
MOVED_RETRIES = 3
# Tombstone ids per query, well under every database's limit on bound parameters.
CHUNK = 500


class ErasureIncomplete(Exception):
    """The data key is destroyed (the data unreadable) but the row could not be scrubbed; run the erasure again."""


def erased_index(user_id: str) -> str:
    """An e-mail index no address can produce (real ones are bare hex), unique per account, 64 characters."""
    digest = hashlib.sha256(user_id.encode()).hexdigest()
    return (ERASED_INDEX_PREFIX + digest)[:64]


def accounts_to_erase(session: Session, email: str, org_name: str | None = None) -> list[User]:
    """The accounts with this address (in `org_name` only, when given); raise when there are none."""
    accounts = users_with_email(session, email)
    where = ""
    if org_name:
        org = organisation_named(session, org_name)
        if org is None:
            raise AccountError(f"No organisation called {org_name!r}.")
        accounts = [user for user in accounts if user.org_id == org.id]
        where = f" in {org.display_name}"
    if not accounts:
        raise AccountError(f"No account has that e-mail address{where}; an erased person is not found again.")
    return accounts


def erase_user(session: Session, user: User, actor: Actor, via: str = "cli") -> None:
    """Crypto-shred one account: destroy its data key, then scrub and audit its row, and commit.

    Raises `CryptoError` when the key cannot be destroyed (nothing changed), and
    `ErasureIncomplete` when the row cannot be scrubbed afterwards.

    The key goes first, because destroying it is what makes the data unreadable
    and the database step is the one that can be repeated. If the database step
    fails, nothing readable is left behind: every ciphertext of the person, here
    and in every backup, is already unreadable; the row still answers to the
    address, so running the erasure again finishes it (destroying a destroyed key
    is a no-op); and a restore finishes it too (`apply_recorded_erasures`). The
    other order could commit a scrubbed row and then fail to destroy the key:
    the row would no longer answer to the address, and every earlier backup
    would stay readable under a live key.
    """
    user_id = user.id  # read now: after a rollback, reading it would need the database
    session.refresh(user)  # the key the row has now, not the one it had when loaded
    for _attempt in range(MOVED_RETRIES):
        keys_of(session).destroy_data_key(user.data_key_id)  # raises before anything changed
        try:
            for forget in session.info.get(ERASURE_HOOKS, ()):
                forget(session, user)  # before the scrub: a hook may find what it holds by the address's index
            scrub(session, user)
            record(session, actor, "user.erased", user, via=via)
            session.commit()
            return
        except StaleDataError:
            # A key rotation moved the row to a new data key meanwhile: destroy that one too, then scrub.
            session.rollback()
            session.refresh(user)
        except Exception as error:
            session.rollback()
            raise ErasureIncomplete(
                f"The data key of account {user_id} is destroyed, so its personal data is unreadable, "
                f"but its row could not be scrubbed ({type(error).__name__})") from error
    raise ErasureIncomplete(f"Account {user_id} kept moving to new keys (a key rotation is running); run the "
                            "erasure again once it has finished")


def scrub(session: Session, user: User) -> None:
    """Put the row of a person whose data key is destroyed in the erased state; the caller commits."""
    user.status = ERASED
    user.password_hash = None
    user.totp_enabled = False
    user.session_version = (user.session_version or 0) + 1  # every signed-in session of theirs ends
    user.email_index = erased_index(user.id)
    for field in fields_of(user):
        setattr(user, field.name, None)  # the ciphertexts go too: later backups hold nothing of theirs
    session.execute(delete(AccountToken).where(AccountToken.user_id == user.id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()


def apply_recorded_erasures(session: Session, actor: Actor) -> int:
    """Scrub every account whose data key the key store has destroyed; the caller commits.

    After a restore, the database may predate erasures the key store knows
    about: those people's values are unreadable already, and this brings their
    rows (address index, password, second factor) into the erased state too.
    Returns how many accounts it scrubbed.
    """
    with keys_of(session).transaction() as store:
        destroyed = list(store.scalars(select(DestroyedKey.id)))
    count = 0
    for chunk in _chunks(destroyed, CHUNK):
        pending = session.scalars(select(User).where(User.data_key_id.in_(chunk), User.status != ERASED)).all()
        for user in pending:
            scrub(session, user)
            record(session, actor, "user.erased", user, via="restore")
            count += 1
    return count


def destroy_keys_of_erased_rows(session: Session) -> int:
    """Destroy the data key of every erased row whose key the key store still holds; returns how many.

    The other direction of `apply_recorded_erasures`: after the key store is
    restored from a copy older than some erasures, the rows still say who was
    erased, and their keys must go again.
    """
    keys = keys_of(session)
    destroyed = 0
    for key_id in session.scalars(select(User.data_key_id).where(User.status == ERASED).distinct()).all():
        if keys.is_destroyed(key_id):
            continue
        try:
            keys.destroy_data_key(key_id)
        except KeyNotFound:
            continue  # the key store never had it, or lost it: nothing left to destroy
        destroyed += 1
    return destroyed


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def erase_organisation(session: Session, org: Organisation, actor: Actor, via: str = "cli") -> int:
    """Close a customer organisation by crypto-shredding: every person in it, then the tenant's own keys.

    Each person goes through `erase_user` (their keys first, then their row). Destroying the tenant
    then makes everything sealed under it unreadable, the organisation's name included, in this
    database and in every backup. The row stays, with a name index no name produces, so counts and
    audit entries still point somewhere and the name can be used again. Returns how many people
    were erased.
    """
    if org.kind != CUSTOMER:
        raise AccountError("Only a customer organisation can be erased; the provider's records must stay.")
    people = session.scalars(select(User).where(User.org_id == org.id, User.status != ERASED)).all()
    for person in people:
        erase_user(session, person, actor, via=via)
    keys_of(session).destroy_tenant(org.id)
    org.name_index = erased_index(org.id)
    record(session, actor, "organisation.erased", org, via=via, people=len(people))
    session.commit()
    return len(people)
