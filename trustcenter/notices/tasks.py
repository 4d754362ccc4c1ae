"""Notice work for the worker: mailing each published notice to everyone it is for."""

from __future__ import annotations

import os

from flask import Flask

from trustcenter.extensions import db
from trustcenter.notices import service
from trustcenter.notices.mail import compose
from trustcenter.notify.worker import new_worker_id
from trustcenter.registry import WORKER_TASKS, registry


def init_tasks(app: Flask) -> None:
    worker_ids: dict[int, str] = {}  # by process: a forking server's workers must not share a lease's name

    def fan_out() -> int:
        worker_id = worker_ids.setdefault(os.getpid(), new_worker_id())
        with app.app_context():  # the mail is rendered from templates, outside any request
            return service.fan_out(db.session(), worker_id, compose)

    registry(app, WORKER_TASKS).register("notice delivery", fan_out)
