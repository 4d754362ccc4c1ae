"""TOTP second factor: enrolment QR code as inline SVG, single-use codes, recovery codes."""

from __future__ import annotations

import hashlib
import io
import secrets
import time

import pyotp
import segno
from markupsafe import Markup

RECOVERY_CODE_COUNT = 10
ISSUER = "Trust Center"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code, built here and fetched from nowhere."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", xmldecl=False, svgns=True, nl=False,
                                    scale=5, border=4, title="QR code for your authenticator app",
                                    svgclass="qr", lineclass=None, dark="#111827")
    svg = buffer.getvalue().decode()
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code for your authenticator app" ', 1))


def matching_step(secret: str, code: str, last_step: int, at: float | None = None) -> int | None:
    """The time step `code` is valid for (±1 step of drift), if it is newer than `last_step`.

    Remembering the last accepted step makes each code single-use.
    """
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = at if at is not None else time.time()
    current = int(now) // totp.interval
    for step in (current - 1, current, current + 1):
        if step > last_step and secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes like `k7q2-9xmd-p3vt`: about 60 bits each."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return ["-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
            for _ in range(RECOVERY_CODE_COUNT)]


def hash_recovery_code(user_id: str, code: str) -> str:
    # High-entropy codes only need a keyed hash, not a slow one; the user id salts it.
    normalised = "".join(code.lower().split()).replace("-", "")
    return hashlib.sha256(f"{user_id}:{normalised}".encode()).hexdigest()
