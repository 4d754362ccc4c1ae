"""Audit fixtures: the root keys and a clock the service reads, so entries can be written in the past."""

from __future__ import annotations

import pytest

from trustcenter.audit import service
from trustcenter.crypto import RootKeys
from tests.audit.helpers import Clock


@pytest.fixture
def keys(app) -> RootKeys:
    return app.extensions["keys"].root


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(service, "utcnow", fake)
    return fake
