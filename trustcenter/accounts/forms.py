"""Account forms; flask-wtf adds and checks the CSRF token on every one."""

from __future__ import annotations

from typing import Iterable

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from trustcenter.accounts import places
from trustcenter.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from trustcenter.accounts.roles import Role



def valid_email(_form: FlaskForm, field: EmailField) -> None:
    from trustcenter.addresses import InvalidAddress, normalise_email

    try:
        normalise_email(field.data or "")
    except InvalidAddress as error:
        raise ValidationError(str(error)) from None


EMAIL = [DataRequired("Enter your e-mail address."), Length(max=254), valid_email]
NEW_PASSWORD = [DataRequired("Choose a password."),
                Length(min=MIN_LENGTH, max=MAX_LENGTH, message=f"Use {MIN_LENGTH} to {MAX_LENGTH} characters.")]


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1024)])
    next = HiddenField()


class SecondFactorForm(FlaskForm):
    code = StringField("Authentication code", validators=[DataRequired("Enter the code."), Length(max=20)])


class ConfirmIdentityForm(FlaskForm):
    """The password, or a current code from the authenticator app: either proves the person again."""

    password = PasswordField("Password", validators=[Optional(), Length(max=1024)])
    code = StringField("Or a code from your authenticator app", validators=[Optional(), Length(max=20)])
    next = HiddenField()

    def validate(self, extra_validators=None) -> bool:  # noqa: ANN001 - WTForms' signature
        if not super().validate(extra_validators):
            return False
        if not (self.password.data or self.code.data):
            self.password.errors.append("Enter your password, or a code from your authenticator app.")
            return False
        return True


class EnrolmentLinkForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired("Enter your password."), Length(max=1024)])


class ResetRequestForm(FlaskForm):
    email = EmailField("E-mail address", validators=EMAIL)


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=NEW_PASSWORD)


class AcceptInvitationForm(FlaskForm):
    first_name = StringField("First name", validators=[DataRequired("Enter your first name."), Length(max=200)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=200)])
    password = PasswordField("Password", validators=NEW_PASSWORD)


class EnrolForm(FlaskForm):
    code = StringField("Code from your app", validators=[DataRequired("Enter the 6-digit code."), Length(max=20)])


class InviteForm(FlaskForm):
    email = EmailField("Colleague's e-mail address", validators=EMAIL)
    role = SelectField("Role", choices=[SelectChoice(r.value, r.label)
                                        for r in (Role.CUSTOMER_MEMBER, Role.CUSTOMER_ADMIN)])


def _text(label: str, max_length: int = 200) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=max_length,
                                                             message=f"Use at most {max_length} characters.")])


def _choices(values: Iterable[str], prompt: str) -> list[SelectChoice]:
    return [SelectChoice("", prompt)] + [SelectChoice(value, value) for value in values]


class ProfileForm(FlaskForm):
    """What a person may correct about themselves (GDPR Art. 16); countries and zones from their standard lists."""

    first_name = StringField("First name", validators=[DataRequired("Enter your first name."),
                                                       Length(max=100, message="Use at most 100 characters.")])
    last_name = _text("Last name", 100)
    username = _text("Username", 64)
    company_name = _text("Company name")
    address = TextAreaField("Address", validators=[Optional(), Length(max=200, message="Use at most 200 characters.")])
    country = SelectField("Country", validators=[Optional()], validate_choice=True)
    state = _text("State or province", 100)
    timezone = SelectField("Time zone", validators=[Optional()], validate_choice=True)
    phone = StringField("Mobile number", validators=[Optional(), Length(max=32, message="Use at most 32 characters.")],
                        description="With its country code, such as +44 7700 900123. Used only to text you "
                                    "urgent notices about your data.", render_kw={"maxlength": 32, "type": "tel"})

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - FlaskForm's own signature
        super().__init__(*args, **kwargs)
        stored = kwargs.get("obj")
        self.country.choices = _choices(_keeping(places.country_names(), stored, "country"), "Choose a country")
        self.timezone.choices = _choices(_keeping(places.time_zones(), stored, "timezone"), "Choose a time zone")


def _keeping(values: tuple[str, ...], stored: object, name: str) -> tuple[str, ...]:
    """The list, plus what is stored already if it is not on it (older free text): saving must not erase it."""
    current = getattr(stored, name, None)
    return values if not current or current in values else (current, *values)
