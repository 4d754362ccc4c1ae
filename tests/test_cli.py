"""The trustcenter command: migrations, content, demo data."""

from sqlalchemy import func, inspect, select

from trustcenter.extensions import db
from trustcenter.faq.models import ContentVersion


def version_count(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(ContentVersion))


def test_db_upgrade_is_idempotent(runner, app):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database: already at revision" in result.output
    with app.app_context():
        assert "content_versions" in inspect(db.engine).get_table_names()


def test_demo_is_idempotent(runner, app):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert version_count(app) == 2
    second = runner.invoke(args=["demo"])
    assert "already published" in second.output
    assert version_count(app) == 2


def test_content_check_and_publish(runner, app):
    check = runner.invoke(args=["content", "check"])
    assert "11 sections, 27 questions, 3 subprocessors" in check.output
    assert "Published content version" in runner.invoke(args=["content", "publish", "--note", "n"]).output
    assert "already published" in runner.invoke(args=["content", "publish"]).output
    assert version_count(app) == 1
