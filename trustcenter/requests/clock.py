"""The GDPR response-deadline clock: when a rights request falls due, and how urgent it is.

Pure date arithmetic with no Flask imports, so the rule can be tested on its own and reused by
the queue, the reminders and the reports alike.
"""

from __future__ import annotations

import calendar as month_calendar
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DEFAULT_CALENDAR = "GB-ENG"
DEFAULT_TIMEZONE = "Europe/London"
MAX_EXTENSION_MONTHS = 2  # Art. 12(3) GDPR: "may be extended by two further months"
DUE_SOON_DAYS = 7
SATURDAY = 5  # date.weekday(): Monday is 0

CALENDAR_HINT = "a country code, optionally with a subdivision, such as GB-ENG, GB-SCT, DE-BE or FR"
TIMEZONE_HINT = "an IANA time zone name such as Europe/London or Europe/Berlin"

Urgency = Literal["overdue", "due-soon", "on-track"]


@lru_cache(maxsize=32)
def working_calendar(code: str) -> holidays.HolidayBase:
    """The bank holidays of a working calendar such as "GB-ENG", "DE-BE" or "FR"."""
    country, separator, subdivision = code.partition("-")
    if not country or (separator and not subdivision):
        raise ValueError(f"unknown working calendar {code!r}: expected {CALENDAR_HINT}")
    try:
        return holidays.country_holidays(country, subdiv=subdivision or None)
    except NotImplementedError as error:
        raise ValueError(f"unknown working calendar {code!r} ({error}): expected {CALENDAR_HINT}") from error


def check_calendar(code: str) -> None:
    """Refuse a working-calendar code that names no known country or subdivision."""
    working_calendar(code)


def check_timezone(name: str) -> None:
    """Refuse a time-zone name that is not in the IANA database."""
    _zone(name)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    # zoneinfo signals a bad key in several ways: not found, malformed path, a folder, a non-zone file.
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValueError(f"unknown time zone {name!r}: expected {TIMEZONE_HINT}") from error


def received_on(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The date a request was received: the local date of `moment` in the operator's time zone."""
    if moment.utcoffset() is None:
        raise ValueError("the moment of receipt must be timezone-aware; a naive datetime is ambiguous")
    return moment.astimezone(_zone(timezone)).date()


def add_months(day: date, months: int) -> date:
    """The same day-of-month `months` later, or that month's last day where the date does not exist."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    return date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


def is_working_day(day: date, calendar: str = DEFAULT_CALENDAR) -> bool:
    """Whether `day` is neither a weekend nor a bank holiday of the working calendar."""
    return day.weekday() < SATURDAY and day not in working_calendar(calendar)


def next_working_day(day: date, calendar: str = DEFAULT_CALENDAR) -> date:
    """`day` itself if it is a working day, otherwise the first working day after it."""
    while not is_working_day(day, calendar):
        day += timedelta(days=1)
    return day


def due_date(received_on: date, *, extension_months: int = 0, paused_days: int = 0,
             calendar: str = DEFAULT_CALENDAR) -> date:
    """The last day to respond to a rights request received on `received_on`.

    The rule (Art. 12(3) GDPR, read with Regulation 1182/71 as the ICO applies it): the same
    day-of-month in the following month, or in the month 1 + `extension_months` later when the
    deadline was extended (by at most two further months); where that date does not exist, the
    last day of that month. Days the clock was paused are added after the month arithmetic. A
    result on a weekend or a bank holiday of `calendar` moves to the next working day.

    Example: received on Friday 31 January 2025 -> 28 February 2025; with 3 paused days -> Monday
    3 March 2025; received on 1 February 2025 -> Saturday 1 March, so Monday 3 March 2025.
    """
    if isinstance(received_on, datetime):
        raise TypeError("due_date takes a date; turn a moment into one with received_on(moment, timezone)")
    if not 0 <= extension_months <= MAX_EXTENSION_MONTHS:
        raise ValueError(f"extension_months must be between 0 and {MAX_EXTENSION_MONTHS}, got {extension_months}")
    if paused_days < 0:
        raise ValueError(f"paused_days cannot be negative, got {paused_days}")
    calendar_deadline = add_months(received_on, 1 + extension_months) + timedelta(days=paused_days)
    return next_working_day(calendar_deadline, calendar)


def extension_deadline(received_on: date, *, paused_days: int = 0, calendar: str = DEFAULT_CALENDAR) -> date:
    """The last day an extension may still be decided and told to the requester: the unextended due date."""
    return due_date(received_on, paused_days=paused_days, calendar=calendar)


def may_extend(received_on: date, today: date, *, paused_days: int = 0, calendar: str = DEFAULT_CALENDAR) -> bool:
    """Whether the deadline can still be extended; once the first month has passed, it cannot."""
    return today <= extension_deadline(received_on, paused_days=paused_days, calendar=calendar)


def days_left(due: date, today: date) -> int:
    """Calendar days until `due`: 0 on the day itself, negative once overdue."""
    return (due - today).days


def urgency(due: date, today: date) -> Urgency:
    """How pressing a request is: "overdue", "due-soon" (a week or less left) or "on-track"."""
    left = days_left(due, today)
    if left < 0:
        return "overdue"
    if left <= DUE_SOON_DAYS:
        return "due-soon"
    return "on-track"
