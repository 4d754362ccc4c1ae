"""Forms of the attestation pages."""

from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

from trustcenter.attestations.models import KIND_LABELS, Kind

PDF_MAGIC = b"%PDF-"


class RegisterForm(FlaskForm):
    kind = SelectField("Register", choices=[SelectChoice(k.value, KIND_LABELS[k])
                                            for k in (Kind.REQUEST_REGISTER, Kind.BREACH_REGISTER)])
    start = DateField("From", validators=[DataRequired("Enter the first day of the period, such as 2026-01-01.")],
                      default=lambda: dt.date.today().replace(month=1, day=1))
    end = DateField("To (inclusive)", validators=[DataRequired("Enter the last day of the period.")],
                    default=dt.date.today)


class VerifyForm(FlaskForm):
    document = FileField("Signed PDF", validators=[FileRequired("Choose the PDF you received.")],
                         render_kw={"accept": "application/pdf,.pdf"})

    def validate_document(self, field: FileField) -> None:
        head = field.data.stream.read(len(PDF_MAGIC)) if field.data else b""
        if field.data:
            field.data.stream.seek(0)
        if head != PDF_MAGIC:
            raise ValidationError("This file is not a PDF. Upload the PDF document itself, or enter its code.")
