"""Which check stands behind which FAQ answer: the one place that maps claims to evidence."""

from __future__ import annotations

from dataclasses import dataclass

from trustcenter.accounts import passwords

FAQ_RETENTION_DAYS = 35  # what content/faq promises for logs and backups


@dataclass(frozen=True)
class Claim:
    """A claim the software can check about itself: its key and the claim in words."""

    key: str
    title: str


ENCRYPTION, TRANSIT, AUDIT, RETENTION = "encryption-at-rest", "https", "audit-chain", "retention"
TWO_FACTOR, KEYS, NOTIFICATION = "two-factor", "keys", "notification-path"

# In the order pages show them.
CLAIMS: tuple[Claim, ...] = (
    Claim(ENCRYPTION, "Personal data is encrypted at rest"),
    Claim(KEYS, "No development or default key is in use"),
    Claim(TRANSIT, "Personal data is encrypted in transit (HTTPS with HSTS)"),
    Claim(AUDIT, "The audit log is complete and untampered"),
    Claim(RETENTION, f"Logs and backups are kept for {FAQ_RETENTION_DAYS} days, and backups are current"),
    Claim(TWO_FACTOR, "Two-factor authentication is enforced for everyone who can see other people's data"),
    Claim(NOTIFICATION, "Breach notifications can go out now (worker running, mail server answering)"),
)
TITLES = {claim.key: claim.title for claim in CLAIMS}

# What the public (FAQ notes, posture attestations) reads about a failing check. The staff page shows the
# check's own summary, which may name hosts, tables or counts: useful to fix it, and to an attacker.
PUBLIC_FAILING = {
    ENCRYPTION: "The last check found personal data or keys not stored as they should be.",
    KEYS: "The last check found a development or default key in use.",
    TRANSIT: "The last check found that HTTPS with HSTS is not enforced.",
    AUDIT: "The last check could not verify the audit log.",
    RETENTION: f"The last check found retention that differs from {FAQ_RETENTION_DAYS} days, or no backup from "
               "the last day.",
    TWO_FACTOR: "The last check found someone who can see other people's data without two-factor authentication.",
    NOTIFICATION: "The last check found that a notification could not go out now.",
}
PUBLIC_PASSING = "The last check confirmed this."
PUBLIC_NOT_CHECKED = "This deployment has not checked this itself yet."


def public_summary(key: str, status: str) -> str:
    """The words the public reads for a check's result: what failed, never the particulars."""
    if status == "passing":
        return PUBLIC_PASSING
    if status == "failing":
        return PUBLIC_FAILING.get(key, "The last check found a problem.")
    return PUBLIC_NOT_CHECKED


# FAQ anchor -> the checks whose results stand beside that answer.
ANCHOR_CHECKS: dict[str, tuple[str, ...]] = {
    "personal-data-encryption-at-rest": (ENCRYPTION, KEYS),
    "encryption-at-rest-servers": (ENCRYPTION, KEYS),
    "personal-data-encryption-in-transit": (TRANSIT,),
    "log-encryption": (AUDIT, ENCRYPTION),
    "log-access-monitoring": (AUDIT,),
    "log-retention": (RETENTION,),
    "backup-retention": (RETENTION,),
    "data-retention-period": (RETENTION,),
    "breach-notification-mechanism": (NOTIFICATION,),
    "breach-customer-notification": (NOTIFICATION,),
    "password-complexity": (TWO_FACTOR, KEYS),
}
# The answers that must be read beside what the software really enforces.
POLICY_ANCHORS = frozenset({"password-complexity"})


def anchors_of(key: str) -> tuple[str, ...]:
    """The FAQ anchors a check's result appears beside."""
    return tuple(anchor for anchor, keys in ANCHOR_CHECKS.items() if key in keys)


def password_policy() -> list[str]:
    """The password rules `accounts/passwords.py` enforces, in words."""
    return [
        f"Passwords are at least {passwords.MIN_LENGTH} and at most {passwords.MAX_LENGTH} characters long.",
        f"New passwords are checked against {len(passwords.common_passwords()):,} commonly used passwords "
        "and refused when they contain the person's name, e-mail address or company.",
        "There are no composition rules and no forced periodic changes (NIST SP 800-63B).",
        "Passwords are stored only as Argon2id hashes.",
        "Staff, the DPO and administrators must also use two-factor authentication (TOTP).",
    ]
