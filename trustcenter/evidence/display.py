"""The evidence note beside FAQ answers: each claim's latest result in words, and the password policy."""

from __future__ import annotations

from flask import g, render_template
from markupsafe import Markup

from trustcenter.evidence.claims import ANCHOR_CHECKS, POLICY_ANCHORS, password_policy
from trustcenter.evidence.probe import STATUS_WORDS
from trustcenter.evidence.service import CheckResult, current_results
from trustcenter.extensions import db

# Existing badge styles; the words carry the status, the colour only repeats it.
BADGES = {"passing": "on-track", "failing": "overdue", "not_checked": "paused"}


def results_for_request() -> list[CheckResult]:
    """The current results, read once per request however many answers show them."""
    if "evidence_results" not in g:
        g.evidence_results = current_results(db.session())
    return g.evidence_results


def evidence_note(anchor: str) -> Markup:
    """The results standing behind the answer at `anchor`; nothing for answers no check covers."""
    keys = ANCHOR_CHECKS.get(anchor, ())
    if not keys and anchor not in POLICY_ANCHORS:
        return Markup("")
    results = [r for r in results_for_request() if r.key in keys]
    policy = password_policy() if anchor in POLICY_ANCHORS else None
    return Markup(render_template("evidence/_note.html", results=results, policy=policy, words=STATUS_WORDS,
                                  badges=BADGES))
