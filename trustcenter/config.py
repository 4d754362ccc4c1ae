"""Settings from `TRUSTCENTER_*` environment variables and the instance folder.

Development generates its own secret into `instance/`; production refuses to
start until every secret is configured, and names the one that is missing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

ENV_PREFIX = "TRUSTCENTER_"
DEV_SECRET_FILE = "secret_key"
# Secrets shorter than this are typos or placeholders, not keys.
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message names it and how to fix it."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    kind: type = str


# The reference list; the README's settings table documents each one.
SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "development"),
    Setting("SECRET_KEY", None),
    Setting("DATABASE_URL", None),
    # The key store: wrapped tenant and data keys, apart from the data (docs/encryption.md).
    Setting("KEYSTORE_URL", None),
    Setting("KEY_CACHE_SECONDS", 60.0, float),
    Setting("BACKUP_DIR", None),
    Setting("BACKUP_RETENTION_DAYS", 35, int),
    # The last audit head shipped off the database host (`trustcenter audit head`), for the evidence checks.
    Setting("AUDIT_WITNESS_FILE", None),
    Setting("CONTENT_DIR", None),
    Setting("SITE_URL", None),
    Setting("TRUST_PROXY", False, bool),
    Setting("MAX_CONTENT_LENGTH", 1024 * 1024, int),
    Setting("MAX_QUERY_LENGTH", 2048, int),
    # Invitations an organisation may have waiting to be accepted (docs/operations.md).
    Setting("MAX_PENDING_INVITATIONS", 25, int),
    Setting("SESSION_IDLE_MINUTES", 30, int),
    Setting("SESSION_ABSOLUTE_HOURS", 12, int),
    # How old a session's last proof of identity (password or code) may be for sensitive changes.
    Setting("RECENT_PROOF_MINUTES", 10, int),
    Setting("REDIS_URL", None),
    # Rights requests (docs/requests.md): the working days that move a deadline, and the local date of receipt.
    Setting("WORKING_CALENDAR", "GB-ENG"),
    Setting("TIMEZONE", "Europe/London"),
    # How long a prepared export of personal data can be downloaded (docs/exports.md).
    Setting("EXPORT_DAYS", 7, int),
    # Recipients a notice's fan-out queues per commit (docs/notices.md).
    Setting("NOTICE_BATCH", 500, int),
    Setting("DEMO_ACCOUNTS", False, bool),
    # Mail (docs/mail.md). MAIL_TRANSPORT unset: "smtp" in production, "file" elsewhere;
    # MAIL_WORKER_THREAD unset: the in-process delivery thread runs in development only.
    Setting("MAIL_TRANSPORT", None),
    Setting("MAIL_FROM", "Trust Center <no-reply@localhost>"),
    Setting("MAIL_WORKER_THREAD", None, bool),
    Setting("SMTP_HOST", None),
    Setting("SMTP_PORT", 587, int),
    Setting("SMTP_USERNAME", None),
    Setting("SMTP_PASSWORD", None),
    Setting("SMTP_STARTTLS", True, bool),
    Setting("SMTP_SSL", False, bool),
    Setting("SMTP_TIMEOUT", 10, int),
    # Breach notices by SMS through Twilio's Messages API (docs/notices.md); off unless enabled.
    Setting("SMS_ENABLED", False, bool),
    Setting("SMS_ACCOUNT_SID", None),
    Setting("SMS_AUTH_TOKEN", None),
    Setting("SMS_FROM", None),
    Setting("SMS_BASE_URL", "https://api.twilio.com"),
    Setting("SMS_TIMEOUT", 10, int),
)


def _parse(value: str, kind: type) -> Any:
    if kind is bool:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    return value


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read every known setting from `TRUSTCENTER_*` variables."""
    found: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(ENV_PREFIX + setting.name)
        if raw is None or raw == "":
            continue
        try:
            found[setting.name] = _parse(raw, setting.kind)
        except ValueError as exc:
            raise ConfigError(
                f"{ENV_PREFIX}{setting.name} must be a {setting.kind.__name__}, got {raw!r}"
            ) from exc
    return found


def defaults() -> dict[str, Any]:
    return {s.name: s.default for s in SETTINGS}


def read_secret_file(instance_path: Path, name: str) -> str | None:
    """Return a secret stored as a file in the instance folder, if present."""
    path = instance_path / name
    if path.is_file():
        return path.read_text(encoding="utf-8").strip() or None
    return None


def development_secret(instance_path: Path) -> str:
    """Create (once) and return a random secret key kept in `instance/`."""
    existing = read_secret_file(instance_path, DEV_SECRET_FILE)
    if existing:
        return existing
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path = instance_path / DEV_SECRET_FILE
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return value


def resolve(
    overrides: Mapping[str, Any] | None,
    environ: Mapping[str, str],
    instance_path: Path,
    root_path: Path,
) -> dict[str, Any]:
    """Merge defaults, instance secrets, environment and explicit overrides, then check."""
    config = defaults()
    config.update(from_environment(environ))
    config.update(overrides or {})
    if config["ENV"] not in {"development", "production", "testing"}:
        raise ConfigError(
            f"{ENV_PREFIX}ENV must be development, production or testing, not {config['ENV']!r}"
        )
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = read_secret_file(instance_path, "secret_key.prod")
    if config["RECENT_PROOF_MINUTES"] < 1:
        # The confirmation page itself takes a moment: under a minute, nobody could ever make the change.
        raise ConfigError(f"{ENV_PREFIX}RECENT_PROOF_MINUTES must be 1 or more, not {config['RECENT_PROOF_MINUTES']}")
    if config["ENV"] == "production":
        check_production(config)
        if config["SECRET_KEY"] == read_secret_file(instance_path, DEV_SECRET_FILE):
            raise ConfigError(
                f"{ENV_PREFIX}SECRET_KEY is the development secret from instance/{DEV_SECRET_FILE}; "
                "production needs its own."
            )
    elif not config["SECRET_KEY"]:
        config["SECRET_KEY"] = development_secret(instance_path)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'trustcenter.db'}"
    if not config["KEYSTORE_URL"]:
        config["KEYSTORE_URL"] = f"sqlite:///{instance_path / 'keys.db'}"
    if not config["BACKUP_DIR"]:
        config["BACKUP_DIR"] = str(instance_path / "backups")
    _check_keystore(config)
    _check_request_clock(config)
    if not config["SMS_AUTH_TOKEN"]:
        config["SMS_AUTH_TOKEN"] = read_secret_file(instance_path, "sms_auth_token")
    _check_sms(config)
    if not 1 <= config["NOTICE_BATCH"] <= 10_000:
        raise ConfigError(f"{ENV_PREFIX}NOTICE_BATCH must be 1 to 10000, not {config['NOTICE_BATCH']}")
    if not 1 <= config["EXPORT_DAYS"] <= 30:
        raise ConfigError(f"{ENV_PREFIX}EXPORT_DAYS must be 1 to 30 days, not {config['EXPORT_DAYS']}")
    config["SITE_URL"] = site_url(config)
    if not config["CONTENT_DIR"]:
        config["CONTENT_DIR"] = str(root_path / "content")
    return config


def _check_request_clock(config: Mapping[str, Any]) -> None:
    """A deadline computed on the wrong calendar is a missed deadline: refuse to start instead."""
    from trustcenter.requests.clock import check_calendar, check_timezone

    for name, check in (("WORKING_CALENDAR", check_calendar), ("TIMEZONE", check_timezone)):
        try:
            check(config[name])
        except ValueError as error:
            raise ConfigError(f"{ENV_PREFIX}{name}: {error}") from None


# Where the site answers when SITE_URL is not set: `make run`'s address, and Flask's test client's.
DEFAULT_SITE_URLS = {"development": "http://127.0.0.1:5000", "testing": "http://localhost"}


def site_url(config: Mapping[str, Any]) -> str:
    """The site's public address, for links in mail: never taken from a request's Host header."""
    value = (config.get("SITE_URL") or "").strip().rstrip("/")
    if not value:
        return DEFAULT_SITE_URLS[config["ENV"]]  # production never gets here: check_production
    if not _plain_site_url(value):
        raise ConfigError(f"{ENV_PREFIX}SITE_URL must look like https://trust.example.com, not {value!r}")
    parts = urlsplit(value)
    if config["ENV"] == "production" and parts.scheme != "https":
        raise ConfigError(f"{ENV_PREFIX}SITE_URL must start with https:// in production, not {value!r}")
    return value


def _plain_site_url(value: str) -> bool:
    """Scheme, host, optional port and path: no user@ part (which moves the host), query or oddities."""
    if "\\" in value or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
    except ValueError:
        return False
    return (parts.scheme in {"http", "https"} and bool(parts.hostname) and parts.username is None
            and parts.password is None and not parts.query and not parts.fragment and "@" not in parts.netloc)


def _check_sms(config: Mapping[str, Any]) -> None:
    if not config.get("SMS_ENABLED"):
        return
    missing = [name for name in ("SMS_ACCOUNT_SID", "SMS_AUTH_TOKEN", "SMS_FROM") if not config.get(name)]
    if missing:
        raise ConfigError(f"{ENV_PREFIX}SMS_ENABLED is on but {', '.join(ENV_PREFIX + m for m in missing)} "
                          "is not set: give the account's SID, its auth token and the number to send from.")
    base = urlsplit(config.get("SMS_BASE_URL") or "")
    if base.scheme not in ("http", "https") or not base.netloc:
        raise ConfigError(f"{ENV_PREFIX}SMS_BASE_URL must be an http(s) address, such as https://api.twilio.com")


def _check_keystore(config: Mapping[str, Any]) -> None:
    """The key store must be a database of its own: a backup of the data must never hold its keys."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from trustcenter.db import same_database

    try:
        data, keys = make_url(config["DATABASE_URL"]), make_url(config["KEYSTORE_URL"])
    except ArgumentError as error:
        raise ConfigError(
            f"{ENV_PREFIX}DATABASE_URL or {ENV_PREFIX}KEYSTORE_URL is not a database URL: {error}") from None
    if not 0 <= config["KEY_CACHE_SECONDS"] <= 86400:  # also refuses nan and inf
        raise ConfigError(f"{ENV_PREFIX}KEY_CACHE_SECONDS must be 0 (no cache) to 86400 seconds")
    if same_database(data, keys):  # two in-memory SQLite databases are two databases: never the same
        raise ConfigError(
            f"{ENV_PREFIX}KEYSTORE_URL names the same database as {ENV_PREFIX}DATABASE_URL; "
            "keep the keys in a database of their own (default instance/keys.db, or a second PostgreSQL database)."
        )


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse unsafe production settings, naming the setting to fix."""
    secret = config.get("SECRET_KEY")
    if not secret:
        raise ConfigError(
            f"{ENV_PREFIX}SECRET_KEY is not set. Production needs a random secret of at least "
            f"{MIN_SECRET_LENGTH} characters (python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
            "in the environment or in instance/secret_key.prod."
        )
    if len(secret) < MIN_SECRET_LENGTH or secret in KNOWN_DEVELOPMENT_SECRETS:
        raise ConfigError(
            f"{ENV_PREFIX}SECRET_KEY is too short or a known development value; "
            f"generate a random one of at least {MIN_SECRET_LENGTH} characters."
        )
    if config.get("DEBUG"):
        raise ConfigError("Debug mode is on; production must run with DEBUG off.")
    if not config.get("SITE_URL"):
        raise ConfigError(
            f"{ENV_PREFIX}SITE_URL is not set. Production needs the site's public address, "
            "e.g. https://trust.example.com, for the links in invitations and password resets."
        )
    _check_production_mail(config)
    if config.get("SMS_ENABLED") and urlsplit(config.get("SMS_BASE_URL") or "").scheme != "https":
        raise ConfigError(f"{ENV_PREFIX}SMS_BASE_URL must use https in production: the auth token goes with "
                          "every message.")


def _check_production_mail(config: Mapping[str, Any]) -> None:
    transport = config.get("MAIL_TRANSPORT") or "smtp"
    if transport not in {"smtp", "file"}:
        raise ConfigError(f"{ENV_PREFIX}MAIL_TRANSPORT must be smtp or file, not {transport!r}")
    if transport != "smtp":
        return
    if not config.get("SMTP_HOST"):
        raise ConfigError(
            f"{ENV_PREFIX}SMTP_HOST is not set. Production sends mail over SMTP: set the relay's host name "
            f"(and {ENV_PREFIX}SMTP_USERNAME/{ENV_PREFIX}SMTP_PASSWORD), or {ENV_PREFIX}MAIL_TRANSPORT=file."
        )
    if config.get("SMTP_USERNAME") and not (config.get("SMTP_STARTTLS") or config.get("SMTP_SSL")):
        raise ConfigError(
            f"{ENV_PREFIX}SMTP_STARTTLS and {ENV_PREFIX}SMTP_SSL are both off, so the SMTP password would "
            "cross the network in clear; turn one of them on."
        )


KNOWN_DEVELOPMENT_SECRETS = frozenset({"dev", "development", "secret", "changeme", "testing"})
