"""Staff forms: the audit log's filters (every query parameter the page reads), and the administrator's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, Form, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, Regexp

from trustcenter.accounts.forms import EMAIL
from trustcenter.accounts.roles import Role

UTC = dt.timezone.utc
LARGEST_ID = 2**62  # well inside a 64-bit integer column on every database


class AuditFilterForm(Form):
    """A GET form (no CSRF): bound to `request.args`, it ignores parameters it does not declare."""

    action = StringField("Action", render_kw={"placeholder": "e.g. login.failure", "maxlength": 64},
                         validators=[Optional(), Length(max=64), Regexp(
                             r"^[a-z0-9_.]+$", message="Actions are lower-case words joined by dots, such as login.failure.")])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
    before = IntegerField("Before entry", validators=[Optional(), NumberRange(min=1, max=LARGEST_ID)])

    def search_filters(self) -> dict[str, Any]:
        """What the audit search takes: `since` inclusive, `until` exclusive (the end of the chosen day)."""
        until = self.until.data
        return {
            "action": self.action.data or None,
            "since": start_of(self.since.data) if self.since.data else None,
            "until": start_of(until + dt.timedelta(days=1)) if until and until < dt.date.max else None,
        }

    def query_for(self, **overrides: Any) -> dict[str, str]:
        """The valid, non-empty filters as query parameters (for links such as "Older entries")."""
        values = {"action": self.action.data, "since": self.since.data, "until": self.until.data,
                  "before": self.before.data, **overrides}
        return {name: str(value) for name, value in values.items() if value not in (None, "")}


def start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=UTC)


class AdminInviteForm(FlaskForm):
    """An administrator invites anyone, to the provider or to a customer; choices are set per request."""

    email = EmailField("E-mail address", validators=EMAIL)
    org_id = SelectField("Organisation")
    role = SelectField("Role", choices=[SelectChoice(role.value, role.label) for role in Role])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(role.value, role.label) for role in Role])
