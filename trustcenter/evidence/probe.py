"""What a check is given and what it returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Flask
from sqlalchemy.orm import Session

PASSING, FAILING, NOT_CHECKED = "passing", "failing", "not_checked"
STATUS_WORDS = {PASSING: "Passing", FAILING: "Failing", NOT_CHECKED: "Not checked"}


@dataclass(frozen=True)
class Outcome:
    """A check's verdict: status, one line in words, and details (counts and settings, never personal data)."""

    status: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Probe:
    """The deployment under test: its app, a database session, the time, and the last recorded audit head."""

    app: Flask
    session: Session
    now: dt.datetime
    previous_head: str | None = None  # "ID:HASH" an earlier run saw, with
    previous_head_at: dt.datetime | None = None  # when that run checked it


Check = Callable[[Probe], Outcome]


def worst(outcomes: list[Outcome]) -> str:
    """Failing beats not checked beats passing: a part that fails fails the whole claim."""
    statuses = {o.status for o in outcomes}
    return FAILING if FAILING in statuses else NOT_CHECKED if NOT_CHECKED in statuses else PASSING


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def sentence(parts: list[str]) -> str:
    """Problems joined into one sentence, its first letter capitalised and the rest left alone."""
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."
