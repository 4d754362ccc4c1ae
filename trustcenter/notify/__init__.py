"""Transactional mail: an encrypted outbox, SMTP and file transports, and the delivery worker.

Services call `queue_mail(session, to=..., subject=..., text=..., html=...)`
inside their own transaction; `trustcenter worker` (or the in-process thread)
delivers what was committed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from trustcenter.notify import outbox
from trustcenter.notify.outbox import DeliveryReport, deliver_batch, queue_mail
from trustcenter.notify.transports import DEFAULT_FROM, FileTransport, Mail, SmtpTransport, Transport
from trustcenter.notify.worker import BackgroundWorker, run_worker

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "BackgroundWorker", "DeliveryReport", "FileTransport", "Mail", "SmtpTransport", "Transport",
    "deliver_batch", "init_app", "make_transport", "queue_mail", "run_worker", "transport_name",
]

TRANSPORTS = ("smtp", "file")


def transport_name(config: Mapping[str, Any]) -> str:
    """MAIL_TRANSPORT, defaulting to smtp in production and to files elsewhere."""
    from trustcenter.config import ENV_PREFIX, ConfigError

    name = config.get("MAIL_TRANSPORT") or ("smtp" if config.get("ENV") == "production" else "file")
    if name not in TRANSPORTS:
        raise ConfigError(f"{ENV_PREFIX}MAIL_TRANSPORT must be smtp or file, not {name!r}")
    return name


def make_transport(config: Mapping[str, Any], instance_path: str | Path) -> Transport:
    """The transport the settings ask for; files go to `instance/mail/`."""
    from trustcenter.config import ENV_PREFIX, ConfigError

    sender = config.get("MAIL_FROM") or DEFAULT_FROM
    if transport_name(config) == "file":
        return FileTransport(Path(instance_path) / "mail", sender=sender)
    if not config.get("SMTP_HOST"):
        raise ConfigError(f"{ENV_PREFIX}SMTP_HOST is not set; MAIL_TRANSPORT=smtp needs the SMTP server's name.")
    return SmtpTransport(
        config["SMTP_HOST"], int(config.get("SMTP_PORT") or 587), config.get("SMTP_USERNAME") or None,
        config.get("SMTP_PASSWORD") or None, starttls=bool(config.get("SMTP_STARTTLS", True)),
        ssl=bool(config.get("SMTP_SSL")), timeout=float(config.get("SMTP_TIMEOUT") or 10), sender=sender)


def wants_thread(config: Mapping[str, Any]) -> bool:
    """MAIL_WORKER_THREAD when set; otherwise on in development only."""
    explicit = config.get("MAIL_WORKER_THREAD")
    return bool(explicit) if explicit is not None else config.get("ENV") == "development"


def init_app(app: Flask) -> None:
    """Build the transport; run the delivery thread where wanted, started by the first request."""
    from trustcenter.extensions import session_factory
    from trustcenter.registry import RETENTION_PURGERS, WORKER_TASKS, registry

    transport = make_transport(app.config, app.instance_path)
    # Other domains register their tasks after this point; the worker reads the registry as it runs.
    worker = BackgroundWorker(session_factory(app), transport, tasks=registry(app, WORKER_TASKS))
    app.extensions["mail_transport"] = transport
    app.extensions["mail_worker"] = worker
    # Sent mail holds personal data: `trustcenter retention purge` deletes it with the old audit entries.
    registry(app, RETENTION_PURGERS).register("sent or failed mails", outbox.purge)
    if app.config.get("ENV") == "development":
        app.logger  # noqa: B018 - creates Flask's handler, so "mail to ... written to ..." is shown
        notify_log = logging.getLogger(__name__)
        if notify_log.getEffectiveLevel() > logging.INFO:
            notify_log.setLevel(logging.INFO)
    if not wants_thread(app.config):
        return

    # Started on the first request rather than here: CLI commands (`db upgrade`,
    # `worker`) and the reloader's parent process then never run a stray thread,
    # and under a forking server each worker process starts its own.
    app.before_request(worker.start_once)
