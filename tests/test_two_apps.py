"""Two applications in one process share nothing: not a database, not a key, not a counter, not a task."""

from __future__ import annotations

from pathlib import Path

import pytest
from limits import parse
from sqlalchemy import select

from tests.conftest import close_app
from trustcenter import create_app, migrate
from trustcenter.accounts import service
from trustcenter.accounts.models import User
from trustcenter.crypto import CryptoError, KeyNotFound, Place
from trustcenter.db import make_engine
from trustcenter.extensions import db, session_factory
from trustcenter.registry import WORKER_TASKS, registry


def make(tmp_path: Path, name: str, content_dir: Path):
    folder = tmp_path / name
    config = {"ENV": "testing", "SECRET_KEY": f"{name}-secret-" + "x" * 40, "INSTANCE_PATH": str(folder),
              "DATABASE_URL": f"sqlite:///{folder / 'data.db'}", "KEYSTORE_URL": f"sqlite:///{folder / 'keys.db'}",
              "CONTENT_DIR": str(content_dir)}
    folder.mkdir()
    app = create_app(config)
    engine = make_engine(config["DATABASE_URL"])
    migrate.upgrade(engine, app.extensions["keys"])
    engine.dispose()
    return app


@pytest.fixture
def two_apps(tmp_path, content_dir):
    first, second = make(tmp_path, "first", content_dir), make(tmp_path, "second", content_dir)
    yield first, second
    close_app(first)
    close_app(second)


def add_person(app, org_name: str, email: str) -> str:
    with app.app_context():
        session = db.session()
        org = service.create_organisation(session, org_name)
        user = service.create_user(session, org, email, "customer_admin", first_name=f"Of {org_name}")
        session.commit()
        return user.id


def test_each_app_has_its_own_database_keys_and_state(two_apps):
    first, second = two_apps
    first_id = add_person(first, "First Ltd", "ann@first.example")
    second_id = add_person(second, "Second Ltd", "bob@second.example")
    # Interleaved use, in the order a module-level global would get wrong.
    with first.app_context(), second.app_context():
        assert db.session.get(User, first_id) is None  # the innermost context is the second app
        assert db.session.get(User, second_id).first_name == "Of Second Ltd"
    with first.app_context():
        assert db.session.get(User, second_id) is None
        assert db.session.get(User, first_id).first_name == "Of First Ltd"
        assert [u.email for u in service.users_with_email(db.session(), "bob@second.example")] == []
    for name in ("keys", "passwords", "throttle", "static_urls", WORKER_TASKS):
        assert first.extensions[name] is not second.extensions[name], name
    assert first.extensions["keys"].root.master.keys != second.extensions["keys"].root.master.keys
    assert registry(first, WORKER_TASKS).items()[0][1] is not registry(second, WORKER_TASKS).items()[0][1]


def test_one_apps_keys_cannot_open_the_others_data(two_apps):
    first, second = two_apps
    first_id = add_person(first, "First Ltd", "ann@first.example")
    blob_session = session_factory(first)()
    sealed = blob_session.scalar(select(User.first_name_sealed).where(User.id == first_id))
    blob_session.close()
    with pytest.raises(CryptoError) as error:  # the second app's key store never held the first's keys
        second.extensions["keys"].open(sealed.blob, Place("users", "first_name", first_id))
    assert isinstance(error.value, KeyNotFound)
    # The same address gives different blind indexes under the two apps' index keys.
    assert (first.extensions["keys"].blind_index("ann@first.example")
            != second.extensions["keys"].blind_index("ann@first.example"))


def test_throttle_counts_are_per_app(two_apps):
    first, second = two_apps
    limit = parse("1 per minute")
    assert first.extensions["throttle"].hit(limit, "login", "source")
    assert not first.extensions["throttle"].hit(limit, "login", "source")
    assert second.extensions["throttle"].hit(limit, "login", "source")
