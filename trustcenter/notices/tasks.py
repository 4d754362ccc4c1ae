"""Notice work for the worker: mailing each published notice to everyone it is for, and the text messages."""

from __future__ import annotations

import datetime as dt
import os

from flask import Flask
from sqlalchemy.orm import Session

from trustcenter.accounts.erasure import ERASURE_HOOKS
from trustcenter.extensions import SESSION_INFO, db
from trustcenter.notices import service, subscriptions
from trustcenter.notices.mail import compose, send_subscription_mail, text_message
from trustcenter.notices.sms import make_sender
from trustcenter.notify.worker import new_worker_id
from trustcenter.registry import RETENTION_PURGERS, WORKER_TASKS, registry


def init_tasks(app: Flask) -> None:
    worker_ids: dict[int, str] = {}  # by process: a forking server's workers must not share a lease's name
    sender = make_sender(app.config)  # None unless TRUSTCENTER_SMS_ENABLED

    def worker_id() -> str:
        return worker_ids.setdefault(os.getpid(), new_worker_id())

    def fan_out() -> int:
        with app.app_context():  # the mail is rendered from templates, outside any request
            return service.fan_out(db.session(), worker_id(), compose, batch=app.config["NOTICE_BATCH"],
                                   texting=sender is not None)

    def send_texts() -> int:
        if sender is None:
            return 0
        with app.app_context():
            return service.send_texts(db.session(), sender, worker_id(), text_message)

    def send_digests() -> int:
        with app.app_context():
            return subscriptions.send_digests(db.session(), send_subscription_mail)

    def purge_unconfirmed(session: Session, _older_than: dt.timedelta) -> int:
        return subscriptions.purge_unconfirmed(session)  # a week, whatever the log's retention

    registry(app, WORKER_TASKS).register("notice delivery", fan_out)
    registry(app, WORKER_TASKS).register("notice texts", send_texts)
    registry(app, WORKER_TASKS).register("subscriber digests", send_digests)
    registry(app, RETENTION_PURGERS).register("subscriptions never confirmed", purge_unconfirmed)
    # Whoever erases a person forgets their subscription too.
    app.extensions[SESSION_INFO].setdefault(ERASURE_HOOKS, []).append(subscriptions.forget_person)
