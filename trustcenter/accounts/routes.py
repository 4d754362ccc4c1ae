"""Sign-in, second factor, invitations, password resets, profile and team pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from limits import parse

from trustcenter.access import password_verified, public, recent_proof_required, roles_required, signed_in
from trustcenter.accounts import identity, mfa, onboarding, second_factor, service
from trustcenter.accounts.forms import (
    AcceptInvitationForm,
    ConfirmIdentityForm,
    EnrolForm,
    EnrolmentLinkForm,
    InviteForm,
    LoginForm,
    NewPasswordForm,
    ProfileForm,
    ResetRequestForm,
    SecondFactorForm,
)
from trustcenter.accounts.mail import send
from trustcenter.accounts.roles import Role
from trustcenter.accounts.service import AccountError
from trustcenter.accounts.sessions import (
    PENDING_MFA_KEY,
    allow_enrolment,
    end_session,
    mark_second_factor_done,
    may_enrol,
    note_proof,
    sign_out,
    start_session,
)
from trustcenter.accounts.throttle import account_key, account_of, email_index, limited, remember_device, throttled
from trustcenter.extensions import db
from trustcenter.faq.current import current_content
from trustcenter.htmx import render
from trustcenter.redirects import safe_next

bp = Blueprint("accounts", __name__, url_prefix="/account", template_folder="templates")


def client_ip() -> str | None:
    return request.remote_addr


def see_other(endpoint: str, **values: str) -> Response:
    return redirect(url_for(endpoint, **values), code=303)


@bp.route("/login", methods=["GET", "POST"])
@public
@throttled("20 per 10 minutes", "10 per 15 minutes", key=account_key("email"), per_account="100 per 15 minutes")
def login() -> Response | str:
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = service.authenticate(db.session(), form.email.data, form.password.data, client_ip(),
                                    index=email_index(form.email.data))
        if user is None:
            form.password.errors.append("That e-mail address and password do not match an account.")
        else:
            needs_code = user.totp_enabled
            start_session(user, second_factor_done=not needs_code and not user.mfa_required)
            if needs_code:
                session[PENDING_MFA_KEY] = safe_next(form.next.data)
                return see_other("accounts.login_verify")
            service.complete_login(db.session(), user, client_ip(), "password")
            if user.mfa_required:
                flash("Your role requires two-factor authentication. Set it up to continue.", "info")
                return see_other("accounts.mfa_setup")
            return remember_device(redirect(safe_next(form.next.data) or url_for("accounts.home"), code=303),
                                   account_of(user.email))
    return render_template("accounts/login.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/login/verify", methods=["GET", "POST"])
@password_verified
# The password is already known here: guessing six digits from many addresses must stay capped per account.
@throttled("20 per 10 minutes", "10 per 15 minutes", key=lambda: current_user.get_id(),
           per_account="10 per 15 minutes")
def login_verify() -> Response | str:
    if session.get("mfa_ok"):
        return see_other("accounts.home")
    form = SecondFactorForm()
    if form.validate_on_submit():
        if second_factor.verify(db.session(), current_user, form.code.data, client_ip()):
            mark_second_factor_done()
            service.complete_login(db.session(), current_user, client_ip(), "password+totp")
            return remember_device(redirect(session.pop(PENDING_MFA_KEY, None) or url_for("accounts.home"), code=303),
                                   account_of(current_user.email))
        form.code.errors.append("That code is not valid. Use the newest code from your app, or a recovery code.")
    return render_template("accounts/verify.html", form=form), 200 if request.method == "GET" else 422


@bp.post("/logout")
@public
def logout() -> Response:
    sign_out()
    flash("You have signed out.", "info")
    return see_other("public.home")


@bp.post("/logout-everywhere")
@signed_in
def logout_everywhere() -> Response:
    service.sign_out_everywhere(db.session(), current_user, client_ip())
    end_session()
    flash("You have been signed out on every device.", "info")
    return see_other("accounts.login")


@bp.route("/reset", methods=["GET", "POST"])
@public
@throttled("10 per 10 minutes", "5 per hour", key=account_key("email"), per_account="10 per hour")
def reset_request() -> Response | str:
    form = ResetRequestForm()
    if form.validate_on_submit():
        onboarding.request_password_reset(db.session(), form.email.data, client_ip())
        return render_template("accounts/reset_sent.html")
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> Response | str:
    if service.token_user(db.session(), token, "reset") is None:
        return render_template("accounts/link_expired.html", again=url_for("accounts.reset_request")), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            onboarding.reset_password(db.session(), token, form.password.data, send, client_ip())
        except AccountError as error:
            form.password.errors.append(str(error))
        else:
            flash("Your password has been changed and other sessions signed out. Sign in with it now.", "success")
            return see_other("accounts.login")
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str) -> Response | str:
    invitee = service.token_user(db.session(), token, "invite")
    if invitee is None or invitee.status != "invited":
        return render_template("accounts/link_expired.html", again=None), 410
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = onboarding.accept_invitation(db.session(), token, form.first_name.data, form.last_name.data,
                                                form.password.data, client_ip())
        except AccountError as error:
            form.password.errors.append(str(error))
        else:
            start_session(user, second_factor_done=not user.mfa_required)
            if user.mfa_required:
                allow_enrolment(user)  # this session, opened by the invitation link, sets up the authenticator
            service.complete_login(db.session(), user, client_ip(), "invitation")
            # Flash messages travel in the signed (readable) session cookie: no personal data in them.
            flash("Welcome. Your account is ready.", "success")
            return see_other("accounts.mfa_setup" if user.mfa_required else "accounts.home")
    return render_template("accounts/accept_invitation.html", form=form, invitee=invitee)


@bp.get("/")
@signed_in
def home() -> str:
    return render_template("accounts/home.html")


@bp.route("/profile", methods=["GET", "POST"])
@signed_in
def profile() -> Response | str:
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        try:
            changed = service.update_profile(db.session(), current_user, {n: getattr(form, n).data
                                             for n in service.PROFILE_FIELDS}, client_ip())
        except AccountError as error:
            flash(str(error), "error")
        else:
            flash("Your details were saved." if changed else "Nothing changed.", "success")
            return see_other("accounts.profile")
    return render("accounts/profile.html", block="profile_form", form=form)


@bp.route("/security", methods=["GET", "POST"])
@password_verified
def mfa_setup() -> Response | str:
    """Enrol in TOTP: show a QR code and confirm with a first code."""
    if current_user.totp_enabled and not session.get("mfa_ok"):
        return see_other("accounts.login_verify")
    form = EnrolForm()
    if current_user.totp_enabled:
        remaining = second_factor.remaining_recovery_codes(db.session(), current_user)
        return render_template("accounts/security.html", form=form, remaining=remaining)
    if not may_enrol(current_user):
        return render_template("accounts/security.html", form=form, needs_enrolment_link=True)
    secret = second_factor.pending_secret(db.session(), current_user)
    if form.validate_on_submit():
        try:
            codes = second_factor.confirm_enrolment(db.session(), current_user, form.code.data, send, client_ip())
        except AccountError as error:
            form.code.errors.append(str(error))
        else:
            mark_second_factor_done()
            return show_recovery_codes(codes)
    uri = mfa.provisioning_uri(secret, current_user.email, issuer=_site_name())
    return render_template("accounts/security.html", form=form, qr=mfa.qr_svg(uri), secret=secret)


def show_recovery_codes(codes: list[str]) -> str:
    """Shown once, in the response itself: recovery codes are never stored or put in a cookie."""
    return render_template("accounts/recovery_codes.html", codes=codes)


@bp.post("/security/recovery-codes")
@signed_in
@recent_proof_required(return_to="accounts.mfa_setup")
def regenerate_codes() -> str:
    return show_recovery_codes(second_factor.regenerate_recovery_codes(db.session(), current_user, send,
                                                                       client_ip()))


@bp.post("/security/disable")
@signed_in
@recent_proof_required(return_to="accounts.mfa_setup")
def mfa_disable() -> Response:
    try:
        second_factor.disable(db.session(), current_user, send, client_ip())
        flash("Two-factor authentication is off.", "info")
    except AccountError as error:
        flash(str(error), "error")
    return see_other("accounts.mfa_setup")


@bp.route("/confirm", methods=["GET", "POST"])
@signed_in
@throttled("20 per 10 minutes", "10 per 15 minutes", key=lambda: current_user.get_id(),
           per_account="10 per 15 minutes")
def confirm_identity() -> Response | str:
    """Prove it is still you (password or a current code) before a sensitive change."""
    form = ConfirmIdentityForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        if identity.reconfirm(db.session(), current_user, form.password.data or "", form.code.data or "",
                              client_ip()):
            note_proof()
            flash("Thank you. You can make the change now.", "success")
            return redirect(safe_next(form.next.data) or url_for("accounts.mfa_setup"), code=303)
        form.password.errors.append("That did not match. Enter your password, or the newest code from your app.")
    return render_template("accounts/confirm.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/enrol/<token>", methods=["GET", "POST"])
@public
# Counted per link by its digest: the counters never hold a usable token.
@throttled("20 per 10 minutes", "10 per 15 minutes",
           key=lambda: service.secret_digest((request.view_args or {}).get("token", "")))
def enrolment_link(token: str) -> Response | str:
    """An administrator's one-time link: with the password, it opens a session that may set up TOTP."""
    person = service.token_user(db.session(), token, identity.ENROL)
    if person is None or person.totp_enabled:
        return render_template("accounts/link_expired.html", again=None), 410
    form = EnrolmentLinkForm()
    if form.validate_on_submit():
        try:
            user = identity.open_enrolment_link(db.session(), token, form.password.data, client_ip())
        except AccountError as error:
            form.password.errors.append(str(error))
        else:
            start_session(user, second_factor_done=False)
            allow_enrolment(user)
            return see_other("accounts.mfa_setup")
    return render_template("accounts/enrolment_link.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/team", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER_ADMIN)
# Each invitation mails someone outside: a cap per inviter and per organisation keeps this from being a relay.
@limited([("inviter", parse("20 per hour"), lambda: current_user.get_id()),
          ("organisation", parse("60 per day"), lambda: current_user.org_id)])
def team() -> Response | str:
    form = InviteForm()
    if form.validate_on_submit():
        try:
            onboarding.invite(db.session(), current_user, current_user.org, form.email.data, form.role.data,
                              send, client_ip(), max_pending=current_app.config["MAX_PENDING_INVITATIONS"])
        except AccountError as error:
            form.email.errors.append(str(error))
        else:
            flash("Invitation sent. It shows as invited below until it is accepted.", "success")
            return see_other("accounts.team")
    members = service.colleagues(db.session(), current_user.org_id)
    return render("accounts/team.html", block="team", form=form, members=members)


def _site_name() -> str:
    return f"{current_content().site.company} Trust Center"
