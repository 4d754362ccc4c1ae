"""The GDPR response-deadline clock, on dates checked against a printed calendar."""

from __future__ import annotations

import calendar as month_calendar
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustcenter.requests import clock
from trustcenter.requests.clock import (
    check_calendar,
    check_timezone,
    days_left,
    due_date,
    extension_deadline,
    may_extend,
    received_on,
    urgency,
    working_calendar,
)

CALENDARS = ["GB-ENG", "GB-SCT", "DE-BE", "FR"]


@pytest.mark.parametrize(("received", "due"), [
    (date(2025, 1, 31), date(2025, 2, 28)),  # no 31 February: the last day of the month
    (date(2024, 1, 31), date(2024, 2, 29)),  # leap year
    (date(2025, 11, 30), date(2025, 12, 30)),
    (date(2025, 3, 31), date(2025, 4, 30)),  # no 31 April
    (date(2026, 4, 15), date(2026, 5, 15)),  # a plain mid-month Wednesday to Friday
])
def test_same_day_next_month_or_that_months_last_day(received, due):
    assert due_date(received) == due


def test_the_day_of_receipt_counts_even_on_a_weekend():
    # The clock starts on the day of receipt, not on the next working day.
    assert date(2025, 11, 30).weekday() == month_calendar.SUNDAY
    assert due_date(date(2025, 11, 30)) == date(2025, 12, 30)


@pytest.mark.parametrize(("received", "months", "due"), [
    (date(2026, 4, 15), 1, date(2026, 6, 15)),
    (date(2026, 4, 15), 2, date(2026, 7, 15)),
    (date(2025, 12, 31), 2, date(2026, 3, 31)),  # three months on from receipt, not clamped on the way
    # 31 March 2024 is Easter Sunday and 1 April Easter Monday: Tuesday 2 April.
    (date(2023, 12, 31), 2, date(2024, 4, 2)),
])
def test_an_extension_adds_whole_months_from_receipt(received, months, due):
    assert due_date(received, extension_months=months) == due


@pytest.mark.parametrize("months", [-1, 3])
def test_an_extension_beyond_two_further_months_is_refused(months):
    with pytest.raises(ValueError, match="extension_months"):
        due_date(date(2026, 4, 15), extension_months=months)


def test_a_negative_pause_is_refused():
    with pytest.raises(ValueError, match="paused_days"):
        due_date(date(2026, 4, 15), paused_days=-1)


@pytest.mark.parametrize(("received", "due"), [
    (date(2025, 1, 31), date(2025, 3, 3)),  # 28 February + 3 days
    # Pausing is not a later receipt: starting from 31 January would give 28 February.
    (date(2025, 1, 28), date(2025, 3, 3)),
])
def test_paused_days_are_added_after_the_month_arithmetic(received, due):
    assert due_date(received, paused_days=3) == due


def test_a_due_date_on_a_weekend_moves_to_monday():
    assert date(2025, 3, 1).weekday() == month_calendar.SATURDAY
    assert due_date(date(2025, 2, 1)) == date(2025, 3, 3)


@pytest.mark.parametrize(("received", "due"), [
    # Christmas Day 2026 is a Friday, Boxing Day a Saturday, observed on Monday 28 December.
    (date(2026, 11, 25), date(2026, 12, 29)),
    (date(2026, 11, 26), date(2026, 12, 29)),
    (date(2026, 3, 6), date(2026, 4, 7)),  # Easter Monday, 6 April 2026
    (date(2026, 3, 3), date(2026, 4, 7)),  # Good Friday 3 April, the weekend, then Easter Monday
    (date(2026, 7, 31), date(2026, 9, 1)),  # the late summer bank holiday, 31 August 2026
])
def test_bank_holidays_of_england_and_wales_move_the_due_date(received, due):
    assert due_date(received) == due


@pytest.mark.parametrize(("received", "expected"), [
    # Monday 8 March 2027, International Women's Day, is a holiday in Berlin only.
    (date(2027, 2, 8), {"GB-ENG": date(2027, 3, 8), "DE-BE": date(2027, 3, 9)}),
    # Tuesday 14 July 2026, the French national day.
    (date(2026, 6, 14), {"GB-ENG": date(2026, 7, 14), "FR": date(2026, 7, 15)}),
    # Friday 2 January 2026 is a bank holiday in Scotland, not in England.
    (date(2025, 12, 2), {"GB-ENG": date(2026, 1, 2), "GB-SCT": date(2026, 1, 5)}),
])
def test_the_working_calendar_decides_which_days_are_holidays(received, expected):
    assert {code: due_date(received, calendar=code) for code in expected} == expected


def test_receipt_just_after_midnight_in_british_summer_time():
    moment = datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)  # 00:30 on 1 July in London
    assert received_on(moment) == date(2026, 7, 1)
    assert due_date(received_on(moment)) == date(2026, 8, 3)  # 1 August 2026 is a Saturday


def test_receipt_just_before_midnight_utc_in_winter():
    moment = datetime(2026, 1, 15, 23, 30, tzinfo=timezone.utc)
    assert received_on(moment) == date(2026, 1, 15)  # London keeps GMT in winter
    assert received_on(moment, "Europe/Berlin") == date(2026, 1, 16)
    assert due_date(received_on(moment)) == date(2026, 2, 16)  # 15 February 2026 is a Sunday


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        received_on(datetime(2026, 6, 30, 23, 30))


def test_a_datetime_is_not_taken_for_the_receipt_date():
    with pytest.raises(TypeError, match="received_on"):
        due_date(datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc))


@pytest.mark.parametrize("code", ["XX", "GB-XYZ", "GB-", "-ENG", "", "gb-eng"])
def test_an_unknown_calendar_is_refused_by_name(code):
    with pytest.raises(ValueError, match=f"unknown working calendar {re.escape(repr(code))}.*GB-ENG"):
        check_calendar(code)
    with pytest.raises(ValueError):
        due_date(date(2026, 4, 15), calendar=code)


@pytest.mark.parametrize("code", CALENDARS)
def test_known_calendars_pass_the_check(code):
    check_calendar(code)
    assert working_calendar(code) is working_calendar(code)


@pytest.mark.parametrize("name", ["Europe/Londn", "", "Europe", "../etc/passwd", "/etc/localtime", "zone.tab"])
def test_an_unknown_time_zone_is_refused_by_name(name):
    with pytest.raises(ValueError, match=f"unknown time zone {re.escape(repr(name))}.*Europe/London"):
        check_timezone(name)
    with pytest.raises(ValueError):
        received_on(datetime(2026, 1, 15, tzinfo=timezone.utc), name)


def test_known_time_zones_pass_the_check():
    check_timezone(clock.DEFAULT_TIMEZONE)
    check_timezone("Europe/Berlin")


def test_an_extension_may_be_decided_until_the_first_month_ends():
    received = date(2026, 3, 10)
    assert extension_deadline(received) == date(2026, 4, 10)
    assert may_extend(received, date(2026, 4, 10))
    assert not may_extend(received, date(2026, 4, 11))


def test_the_extension_window_follows_pauses_and_working_days():
    assert extension_deadline(date(2026, 1, 15)) == date(2026, 2, 16)  # 15 February 2026 is a Sunday
    assert may_extend(date(2026, 3, 10), date(2026, 4, 13), paused_days=3)  # 13 April, a Monday


@pytest.mark.parametrize(("today", "left", "state"), [
    (date(2026, 5, 16), -1, "overdue"),
    (date(2026, 5, 15), 0, "due-soon"),
    (date(2026, 5, 8), 7, "due-soon"),
    (date(2026, 5, 7), 8, "on-track"),
])
def test_days_left_and_urgency_around_their_boundaries(today, left, state):
    due = date(2026, 5, 15)
    assert days_left(due, today) == left
    assert urgency(due, today) == state


def months_later(day: date, months: int) -> date:
    """An independent reference for the month arithmetic, for the property bound."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, month_calendar.monthrange(year, month + 1)[1]))


receipts = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 30))


# The holiday tables fill in one year at a time on first use, so an example can be slow once.
@settings(deadline=None)
@given(received=receipts, months=st.integers(0, 2), paused=st.integers(0, 60), code=st.sampled_from(CALENDARS))
def test_the_due_date_is_a_working_day_shortly_after_the_legal_period(received, months, paused, code):
    due = due_date(received, extension_months=months, paused_days=paused, calendar=code)
    assert due.weekday() < month_calendar.SATURDAY and due not in working_calendar(code)
    assert received < due <= months_later(received, 1 + months) + timedelta(days=paused + 10)


@settings(deadline=None)
@given(received=receipts, months=st.integers(0, 2), paused=st.integers(0, 60), code=st.sampled_from(CALENDARS))
def test_a_later_receipt_is_never_due_earlier(received, months, paused, code):
    def due(day: date) -> date:
        return due_date(day, extension_months=months, paused_days=paused, calendar=code)

    assert due(received) <= due(received + timedelta(days=1))
