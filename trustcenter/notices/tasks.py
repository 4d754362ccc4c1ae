"""Notice work for the worker: mailing each published notice to everyone it is for, and the text messages."""

from __future__ import annotations

import os

from flask import Flask

from trustcenter.extensions import db
from trustcenter.notices import service
from trustcenter.notices.mail import compose, text_message
from trustcenter.notices.sms import make_sender
from trustcenter.notify.worker import new_worker_id
from trustcenter.registry import WORKER_TASKS, registry


def init_tasks(app: Flask) -> None:
    worker_ids: dict[int, str] = {}  # by process: a forking server's workers must not share a lease's name
    sender = make_sender(app.config)  # None unless TRUSTCENTER_SMS_ENABLED

    def worker_id() -> str:
        return worker_ids.setdefault(os.getpid(), new_worker_id())

    def fan_out() -> int:
        with app.app_context():  # the mail is rendered from templates, outside any request
            return service.fan_out(db.session(), worker_id(), compose, texting=sender is not None)

    def send_texts() -> int:
        if sender is None:
            return 0
        with app.app_context():
            return service.send_texts(db.session(), sender, worker_id(), text_message)

    registry(app, WORKER_TASKS).register("notice delivery", fan_out)
    registry(app, WORKER_TASKS).register("notice texts", send_texts)
