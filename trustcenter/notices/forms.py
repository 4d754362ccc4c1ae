"""Incident, authority, notice and filter forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Form,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateField, DateTimeLocalField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from trustcenter.accounts.forms import EMAIL
from trustcenter.notices.models import Phase, Severity, Status
from trustcenter.notices.service import MAX_TEXT

TIME_FORMAT = "%Y-%m-%dT%H:%M"
SEVERITY_CHOICES = [SelectChoice(s.value, s.label) for s in Severity]


def _text(label: str, required: bool = False, description: str = "", limit: int = MAX_TEXT) -> TextAreaField:
    validators = [DataRequired(f"{label}: this is needed.")] if required else [Optional()]
    return TextAreaField(label, validators=[*validators, Length(max=limit)], description=description,
                         render_kw={"maxlength": limit, "rows": 3})


class IncidentForm(FlaskForm):
    title = StringField("Short title", validators=[DataRequired("Give the incident a short title."), Length(max=200)],
                        render_kw={"maxlength": 200})
    aware_at = DateTimeLocalField("When the company became aware (UTC)", format=TIME_FORMAT,
                                  validators=[DataRequired("Give the date and time the company became aware, "
                                                           "as 2026-12-01 14:30.")])
    severity = SelectField("Severity", choices=SEVERITY_CHOICES)
    status = SelectField("Status", choices=[SelectChoice(s.value, s.label) for s in Status if s is not Status.CLOSED])
    nature = _text("Nature of the breach", required=True, description="What happened, and to which data.")
    people_affected = _text("People affected", description="Categories and approximate number of data subjects.")
    records_affected = _text("Records affected", description="Categories and approximate number of records.")
    consequences = _text("Likely consequences")
    measures = _text("Measures taken or proposed", description="Including those to lessen possible harm.")
    contact = _text("Contact for more information", description="The Data Protection Officer, usually.")
    scope = RadioField("Customers affected", default="chosen", choices=[
        SelectChoice("all", "Every customer"), SelectChoice("chosen", "Only those chosen")])
    tenants = SelectMultipleField("Customers", choices=[], validate_choice=True, option_widget=CheckboxInput(),
                                  widget=ListWidget(prefix_label=False))

    def validate_tenants(self, field: SelectMultipleField) -> None:
        if self.scope.data == "chosen" and not field.data:
            field.errors.append("Choose at least one customer, or every customer.")


class AuthorityForm(FlaskForm):
    notified_at = DateTimeLocalField("When the authority was told (UTC)", format=TIME_FORMAT,
                                     validators=[DataRequired("Give the date and time, as 2026-12-01 14:30.")])
    how = _text("How, and the authority's reference", required=True)
    delay_reasons = _text("Reasons for any delay", description="Needed when it was more than 72 hours after "
                                                                 "the company became aware (Article 33(1)).")


class NoticeForm(FlaskForm):
    phase = SelectField("Phase", choices=[SelectChoice(p.value, p.label) for p in Phase])
    title = StringField("Title", validators=[DataRequired("Give the notice a title."), Length(max=200)],
                        render_kw={"maxlength": 200})
    body = _text("Notice", required=True, description="What customers need to know and do. Plain text; "
                 "blank lines separate paragraphs.")


class ConfirmForm(FlaskForm):
    """A button that changes something: CSRF only."""


class RegisterFilterForm(Form):
    """A GET form: the register's period and severity."""

    since = DateField("Aware from", validators=[Optional()])
    until = DateField("Aware until", validators=[Optional()])
    severity = SelectField("Severity", choices=[SelectChoice("", "Any"), *SEVERITY_CHOICES], validators=[Optional()])


class SubscribeForm(FlaskForm):
    email = EmailField("Your e-mail address", validators=EMAIL, render_kw={"autocomplete": "email"})
    faq = BooleanField("Changes to the security and privacy FAQ", default=True)
    subprocessors = BooleanField("Changes to our subprocessors", default=True)


class TopicsForm(FlaskForm):
    """A signed-in customer's own subscription: no address to give, no mail to confirm."""

    faq = BooleanField("Changes to the security and privacy FAQ")
    subprocessors = BooleanField("Changes to our subprocessors")


class AnnounceForm(FlaskForm):
    subprocessor = StringField("Subprocessor", validators=[DataRequired("Name the subprocessor."), Length(max=200)],
                               render_kw={"maxlength": 200})
    change = StringField("The change", validators=[DataRequired("Say what changes."), Length(max=500)],
                         description="For example: added for e-mail delivery, hosted in the EU.",
                         render_kw={"maxlength": 500})
    details = _text("Details")
    days = IntegerField("Days customers have to object", default=30,
                        validators=[NumberRange(1, 365, "Give 1 to 365 days.")])


class ObjectionForm(FlaskForm):
    reason = _text("Why your organisation objects", required=True, limit=5000)
