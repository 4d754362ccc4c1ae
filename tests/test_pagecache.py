"""The anonymous page cache answers before Flask with exactly what Flask answered."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import close_app
from trustcenter import PROJECT_ROOT, create_app

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def published(app):
    """The content served is published: FAQ pages of an unpublished version are never stored (tested below)."""
    from trustcenter.extensions import db
    from trustcenter.faq import service

    with app.app_context():
        service.publish(db.session(), app.extensions["content"].current())
        db.session.remove()


def comparable(response) -> tuple:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in ("Date",))
    return response.status_code, headers, response.data


@pytest.mark.parametrize("path", ["/", "/faq", "/faq/data-breach", "/subprocessors"])
def test_cached_answer_equals_the_first_answer(app, client, path):
    first = client.get(path)
    assert len(app.extensions["page_cache"]) == 1
    second = client.get(path)
    assert comparable(first) == comparable(second)
    assert "X-Trustcenter-Cacheable" not in first.headers
    assert "Content-Security-Policy" in second.headers and second.headers["ETag"]


def test_fragment_and_page_are_cached_apart(app, client):
    page, fragment = client.get("/faq"), client.get("/faq", headers=HTMX)
    assert client.get("/faq").data == page.data
    assert client.get("/faq", headers=HTMX).data == fragment.data
    assert len(app.extensions["page_cache"]) == 2


def test_cached_page_revalidates_with_304_and_keeps_security_headers(client):
    etag = client.get("/faq").headers["ETag"]
    client.get("/faq")
    revalidated = client.get("/faq", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304 and revalidated.data == b""
    assert revalidated.headers["ETag"] == etag
    assert "frame-ancestors 'none'" in revalidated.headers["Content-Security-Policy"]


def test_head_is_answered_without_a_body(client):
    client.get("/faq")
    head = client.head("/faq")
    assert head.status_code == 200 and head.data == b""


def test_https_and_http_are_cached_apart(client):
    client.get("/faq")
    secure = client.get("/faq", base_url="https://localhost")
    assert "Strict-Transport-Security" in secure.headers
    assert "Strict-Transport-Security" not in client.get("/faq").headers


def test_visitors_with_a_session_never_get_the_cached_page(app, client):
    client.get("/faq")
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], "x")
    response = client.get("/faq")
    assert "ETag" not in response.headers and response.headers["Cache-Control"] == "private, no-store"


def test_only_marked_pages_are_cached(app, client):
    client.get("/faq/search?q=backup")
    client.get("/changelog")
    client.get("/no-such-page")
    assert len(app.extensions["page_cache"]) == 0


def test_content_change_invalidates_the_cache(app_config, tmp_path):
    content = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content)
    app = create_app({**app_config, "ENV": "development", "CONTENT_DIR": str(content), "MAIL_WORKER_THREAD": False})
    try:
        client = app.test_client()
        assert b"Technical Customer service team" in client.get("/faq").data
        faq = content / "faq" / "02-cloud-infrastructure.md"
        faq.write_text(faq.read_text().replace("Technical Customer service team", "Our support engineers"))
        assert b"Our support engineers" in client.get("/faq").data
    finally:
        close_app(app)


def test_an_unpublished_version_is_not_stored_and_its_date_appears_once_published(app_config, tmp_path):
    from trustcenter.extensions import db
    from trustcenter.faq import service

    content = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content)
    faq = content / "faq" / "02-cloud-infrastructure.md"
    faq.write_text(faq.read_text().replace("Technical Customer service team", "Our support engineers"))
    app = create_app({**app_config, "CONTENT_DIR": str(content), "MAIL_WORKER_THREAD": False})
    try:
        client = app.test_client()
        assert b"This version is not published yet" in client.get("/faq").data
        assert len(app.extensions["page_cache"]) == 0
        with app.app_context():
            version = service.publish(db.session(), app.extensions["content"].current())  # as `content publish` does
            db.session.remove()
        page = client.get("/faq").get_data(as_text=True)
        assert "Published <time datetime=" in page and version.published_at.strftime("%-d %B %Y") in page
        assert "answers dated" in page and "25 May 2018" in page
        assert len(app.extensions["page_cache"]) == 1
    finally:
        close_app(app)


def test_cache_is_bounded(app, client):
    cache = app.extensions["page_cache"]
    cache.max_entries = 5
    for number in range(20):
        client.get(f"/faq?n={number}")
    assert len(cache) == 5
