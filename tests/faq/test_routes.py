"""FAQ pages over HTTP: full pages, htmx fragments, caching, changelog and feed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, given, settings, strategies as st

from trustcenter import demo
from trustcenter.extensions import db

HTMX = {"HX-Request": "true"}


def publish_demo(app) -> None:
    with app.app_context():
        list(demo.load(db.session(), app.extensions["content"].current()))


def test_faq_lists_all_questions_with_anchors(client):
    html = client.get("/faq").get_data(as_text=True)
    anchors = re.findall(r'<article class="question" id="([a-z0-9-]+)"', html)
    assert len(anchors) == 27 == len(set(anchors))
    assert 'href="#backup-retention"' in html
    assert 'href="#data-retention"' in html  # table of contents


def test_section_page_shows_only_that_section(client):
    html = client.get("/faq/data-breach").get_data(as_text=True)
    assert 'id="breach-history"' in html
    assert 'id="backup-retention"' not in html


def test_unknown_section_is_a_designed_404(client):
    response = client.get("/faq/no-such-section")
    assert response.status_code == 404
    assert b"Page not found" in response.data and b"site-header" in response.data


def test_search_page_without_htmx_is_a_full_page(client):
    response = client.get("/faq/search?q=backup")
    html = response.get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    assert "For what period is your data stored in <mark>backup</mark>s?" in html
    assert "password" not in html.lower().split('id="search-results"')[1]
    assert "HX-Request" in response.headers["Vary"]


def test_search_for_htmx_returns_only_the_results_block(client):
    response = client.get("/faq/search?q=backup", headers=HTMX)
    html = response.get_data(as_text=True)
    assert "<html" not in html and "site-header" not in html
    assert "Where do we store <mark>backup</mark>s?" in html
    assert "HX-Request" in response.headers["Vary"]


def test_history_restore_and_boosted_requests_get_the_full_page(client):
    restore = client.get("/faq/search?q=backup", headers={**HTMX, "HX-History-Restore-Request": "true"})
    boosted = client.get("/faq/search?q=backup", headers={**HTMX, "HX-Boosted": "true"})
    assert restore.get_data(as_text=True).startswith("<!doctype html>")
    assert boosted.get_data(as_text=True).startswith("<!doctype html>")


def test_search_states_empty_and_no_results(client):
    assert b"Type a word or two" in client.get("/faq/search").data
    missing = client.get("/faq/search?q=zebra", headers=HTMX).get_data(as_text=True)
    assert "No questions match" in missing and "zebra" in missing


def test_search_escapes_the_query(client):
    html = client.get("/faq/search?q=<script>alert(1)</script>").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


def test_overlong_search_gets_a_clear_400(client):
    response = client.get("/faq/search?q=" + "a" * 201)
    assert response.status_code == 400
    assert b"limited to 200 characters" in response.data


def test_overlong_query_string_is_refused(client):
    response = client.get("/faq/search?q=" + "a" * 5000)
    assert response.status_code == 414
    assert b"Shorten it" in response.data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_search_never_fails_on_any_input(client, query):
    response = client.get("/faq/search", query_string={"q": query}, headers=HTMX)
    assert response.status_code in (200, 400)


def test_public_pages_answer_if_none_match_with_304(client):
    first = client.get("/faq")
    etag = first.headers["ETag"]
    again = client.get("/faq", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag


def test_fragment_and_page_have_different_etags(client):
    page = client.get("/faq")
    fragment = client.get("/faq", headers=HTMX)
    assert page.headers["ETag"] != fragment.headers["ETag"] or page.data == fragment.data


def test_anonymous_pages_set_no_cookie(client):
    for path in ["/", "/faq", "/faq/data-breach", "/faq/search?q=logs", "/subprocessors"]:
        response = client.get(path)
        assert "Set-Cookie" not in response.headers, path


def test_visitors_with_a_session_bypass_the_cache(client, app):
    client.get("/faq")
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], "something")
    response = client.get("/faq")
    assert "ETag" not in response.headers
    assert response.headers["Cache-Control"] == "private, no-store"


def test_changelog_shows_added_changed_and_removed(client, app):
    publish_demo(app)
    html = client.get("/changelog").get_data(as_text=True)
    assert "25 May 2018" in html
    assert "First published with 25 questions" in html
    assert "Do we monitor and analyze the logs?" in html  # added later
    assert "<del>Yes.</del>" in html and "<ins>Yes as soon as possible.</ins>" in html


def test_changelog_without_versions_says_so(client):
    assert b"No versions have been published yet" in client.get("/changelog").data


def test_atom_feed_is_valid_and_lists_versions(client, app):
    publish_demo(app)
    response = client.get("/changelog.atom")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", feed.find("a:updated", ns).text)
    assert "2 added, 1 changed" in entries[0].find("a:title", ns).text


def test_the_faq_shows_when_the_version_served_was_published(app, client):
    """Not the source's 2018 date as 'last updated': that date stays, as the date of the answers."""
    from trustcenter.extensions import db
    from trustcenter.faq import service

    with app.app_context():
        version = service.publish(db.session(), app.extensions["content"].current())
        db.session.remove()
    for path in ("/faq", "/faq/data-breach"):
        page = client.get(path).get_data(as_text=True)
        assert "Published <time" in page and version.published_at.strftime("%-d %B %Y") in page, path
        assert "Last updated" not in page and "dated <time" in page and "25 May 2018" in page, path
