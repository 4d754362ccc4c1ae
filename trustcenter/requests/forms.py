"""Request forms: one per kind, built from `kinds.FORMS`; the thread, the staff moves and the queue's filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, Form, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from trustcenter.accounts.forms import EMAIL
from trustcenter.requests.kinds import MAX_TEXT, questions_for
from trustcenter.requests.models import Kind, State
from trustcenter.requests.service import MAX_MESSAGE, TRANSITIONS

KIND_CHOICES = [SelectChoice(kind.value, kind.label) for kind in Kind]
DUE_WINDOWS = [SelectChoice("", "Any time"), SelectChoice("overdue", "Overdue"),
               SelectChoice("7", "Due within 7 days"), SelectChoice("30", "Due within 30 days")]
ID_PATTERN = r"^[0-9a-f-]{36}$"


class KindChoiceForm(Form):
    """Step one, a GET form: which right. Read from the query string; no CSRF needed to choose."""

    kind = RadioField("What would you like to do?", choices=KIND_CHOICES, validators=[DataRequired(
        "Choose the kind of request.")])


def request_form(kind: Kind, is_admin: bool, formdata: Any = None, contact: bool = False) -> FlaskForm:
    """The form for `kind`: exactly its questions (a customer administrator may be asked one more); with
    `contact`, for someone without an account, their name and the address to confirm first."""

    class RequestForm(FlaskForm):
        pass

    if contact:
        RequestForm.name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=200)],
                                       render_kw={"autocomplete": "name", "maxlength": 200})
        RequestForm.email = EmailField("Your e-mail address", validators=EMAIL, render_kw={"autocomplete": "email"},
                                       description="We send a link there: your request counts from when you "
                                                   "follow it.")

    for question in questions_for(kind, is_admin):
        validators = [DataRequired(f"{question.label}: this is needed.") if question.required else Optional(),
                      Length(max=question.max_length)]
        render_kw = {"maxlength": question.max_length}
        if question.choices:
            field = RadioField(question.label, choices=[SelectChoice(v, label) for v, label in question.choices],
                               validators=validators, description=question.hint)
        elif question.multiline:
            field = TextAreaField(question.label, validators=validators, render_kw={**render_kw, "rows": 5},
                                  description=question.hint)
        else:
            field = StringField(question.label, validators=validators, render_kw=render_kw,
                                description=question.hint)
        setattr(RequestForm, question.name, field)
    form = RequestForm(formdata=formdata) if formdata is not None else RequestForm()
    form.question_names = [q.name for q in questions_for(kind, is_admin)]  # type: ignore[attr-defined]
    return form


def answers_of(form: FlaskForm) -> dict[str, str]:
    return {name: getattr(form, name).data for name in form.question_names}  # type: ignore[attr-defined]


class MessageForm(FlaskForm):
    body = TextAreaField("Message", validators=[Length(max=MAX_MESSAGE)],
                         render_kw={"rows": 4, "maxlength": MAX_MESSAGE})
    # Checked by its content in the service, not here: a browser's idea of a file's type proves nothing.
    attachment = FileField("Attach a file (optional)", description="PDF, PNG, JPEG, plain text or CSV, up to 10 MB.")
    internal = BooleanField("Internal note: only our staff see it")


class WithdrawForm(FlaskForm):
    """Only the CSRF token: withdrawing is one button."""


class ConfirmForm(FlaskForm):
    """Only the CSRF token: a button, so that a mail scanner opening the link files nothing."""


STAFF_MOVES = sorted({state for targets in TRANSITIONS.values() for state in targets}, key=list(State).index)


class MoveForm(FlaskForm):
    # No DataRequired: the list always has a choice, and a required select must start with an empty one.
    to = SelectField("New state", choices=[SelectChoice(s.value, s.label) for s in STAFF_MOVES])
    message = TextAreaField("Message to the requester",
                            description="Needed when you ask for something or refuse; the requester reads it.",
                            validators=[Length(max=MAX_MESSAGE)], render_kw={"rows": 4, "maxlength": MAX_MESSAGE})
    referred_org = SelectField("Customer holding the data as controller", validate_choice=False,
                               validators=[Optional()])


class ExtendForm(FlaskForm):
    months = SelectField("Extend by", choices=[SelectChoice("1", "One month"), SelectChoice("2", "Two months")])
    reason = TextAreaField("Reason (the requester reads it)",
                           validators=[DataRequired("Give the reason for the extension."), Length(max=MAX_TEXT)],
                           render_kw={"rows": 3, "maxlength": MAX_TEXT})


class AssignForm(FlaskForm):
    assignee = SelectField("Assigned to", validate_choice=False, validators=[Optional()])


class QueueFilterForm(Form):
    """The queue's filters: a GET form bound to `request.args`, so a filtered queue is a link."""

    kind = SelectField("Type", choices=[SelectChoice("", "Any type"), *KIND_CHOICES], validators=[Optional()])
    state = SelectField("State", choices=[SelectChoice("", "Open"), SelectChoice("all", "Any state"),
                                          *(SelectChoice(s.value, s.label) for s in State)], validators=[Optional()])
    due = SelectField("Due", choices=DUE_WINDOWS, validators=[Optional()])
    org = SelectField("Customer", validate_choice=False, validators=[Optional(), Regexp(ID_PATTERN)])
    assignee = SelectField("Assigned to", validate_choice=False,
                           validators=[Optional(), Regexp(r"^([0-9a-f-]{36}|none)$")])
    after = StringField("After", validators=[Optional(), Regexp(r"^\d{4}-\d{2}-\d{2}\.[0-9a-f-]{36}$")])

    def cursor(self) -> tuple[dt.date, str] | None:
        if not self.after.data:
            return None
        day, _, request_id = self.after.data.partition(".")
        try:
            return dt.date.fromisoformat(day), request_id
        except ValueError:
            return None

    def query_for(self, **overrides: Any) -> dict[str, str]:
        values = {"kind": self.kind.data, "state": self.state.data, "due": self.due.data, "org": self.org.data,
                  "assignee": self.assignee.data, **overrides}
        return {name: str(value) for name, value in values.items() if value not in (None, "")}



class FulfilForm(FlaskForm):
    """The fulfilment actions' fields; each action reads the ones it needs (choices set per request)."""

    person = SelectField("Account", validate_choice=False, validators=[Optional(), Regexp(ID_PATTERN)])
    field = SelectField("Field", validate_choice=False, validators=[Optional()])
    value = StringField("Correct value", validators=[Optional(), Length(max=200)], render_kw={"maxlength": 200})
