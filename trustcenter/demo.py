"""Synthetic demo data for development and screenshots; never real people."""

from __future__ import annotations

import copy
import hashlib
import datetime as dt
from typing import Iterator

from sqlalchemy.orm import Session

from trustcenter.faq import service
from trustcenter.faq.content import Content

# The demo history pretends the FAQ launched without these two answers and with
# vaguer wording in a third, so the changelog shows every kind of change.
DEMO_LAUNCH = dt.datetime(2018, 5, 25, 9, 0, tzinfo=dt.timezone.utc)
LATER_ADDITIONS = ("log-analysis", "environment-separation")
REWORDED = ("breach-customer-notification", "Yes.")


def launch_snapshot(content: Content) -> dict:
    snapshot = copy.deepcopy(service.snapshot_of(content))
    snapshot["questions"] = [q for q in snapshot["questions"] if q["anchor"] not in LATER_ADDITIONS]
    for question in snapshot["questions"]:
        if question["anchor"] == REWORDED[0]:
            question["answer"] = REWORDED[1]
    return snapshot


def load(session: Session, content: Content) -> Iterator[str]:
    """Publish a demo launch version and the current content, once."""
    if service.latest_version(session) is None:
        # The launch version stands for older files, so it gets a digest of its own.
        service.publish(session, content, note="Launch of the GDPR FAQ.", when=DEMO_LAUNCH,
                        snapshot=launch_snapshot(content), digest=hashlib.sha256(b"demo launch " + content.version.encode()).hexdigest())
        yield "Published the demo launch version (25 May 2018)."
    if service.publish(session, content, note="Answers completed and clarified.") is not None:
        yield f"Published the current content as version {content.version[:12]}."
    else:
        yield "Content is already published."
