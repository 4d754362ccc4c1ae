"""Overview, subprocessors, well-known files, health check, error pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from trustcenter import create_app


def test_home_shows_key_facts_linking_into_the_faq(client):
    html = client.get("/").get_data(as_text=True)
    for label, anchor in [("Data-centre region", "data-centre-location"), ("Backup retention", "backup-retention"),
                          ("Breach record", "breach-history"), ("Transfers outside the EEA", "transfers-outside-eea"),
                          ("Encryption in transit", "personal-data-encryption-in-transit")]:
        assert label in html
        assert f'href="/faq#{anchor}"' in html


def test_header_and_footer(client):
    html = client.get("/subprocessors").get_data(as_text=True)
    assert 'aria-current="page"' in html
    assert "mailto:info@cloudstem.co.uk" in html


def test_subprocessors_from_content(client):
    html = client.get("/subprocessors").get_data(as_text=True)
    for name in ["Microsoft Azure", "SendGrid", "Twilio"]:
        assert name in html
    assert "UK South" in html


def test_security_txt_follows_rfc_9116(client):
    response = client.get("/.well-known/security.txt")
    assert response.mimetype == "text/plain"
    fields = dict(line.split(": ", 1) for line in response.get_data(as_text=True).splitlines())
    assert fields["Contact"] == "mailto:info@cloudstem.co.uk"
    expires = dt.datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    now = dt.datetime.now(dt.timezone.utc)
    assert now < expires < now + dt.timedelta(days=366)
    assert fields["Canonical"].endswith("/.well-known/security.txt")


def test_robots_and_favicon(client):
    assert b"User-agent: *" in client.get("/robots.txt").data
    with client.get("/favicon.ico") as favicon:
        assert favicon.status_code == 200 and favicon.mimetype == "image/svg+xml"


def test_healthz_answers_when_database_is_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.data == b"ok\n"


def test_healthz_fails_when_database_is_unreachable(tmp_path):
    app = create_app({"ENV": "testing", "SECRET_KEY": "k" * 40, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


def test_500_page_is_designed_and_reveals_nothing(app):
    from trustcenter.access import public

    @app.get("/boom-test")
    @public
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom-test")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data and b"site-header" in response.data
    assert b"secret internals" not in response.data and b"Traceback" not in response.data


def test_the_500_page_needs_neither_content_nor_session_nor_database(app):
    """What failed may be the content, the session or the database: the 500 page uses none of them."""
    from trustcenter.access import public

    class BrokenContent:
        def current(self):
            raise RuntimeError("content could not be loaded")

    @app.get("/boom-content")
    @public
    def boom():
        app.extensions["content"] = BrokenContent()
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom-content", headers={"Cookie": "tc_session=garbage"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page and 'rel="stylesheet"' in page and "/static/css/site.css" in page
    assert "secret internals" not in page


def test_405_is_designed(client):
    response = client.post("/faq")
    # CSRF protection rejects the POST before routing can say 405; both are clean errors.
    assert response.status_code in (400, 405)
    assert b"site-header" in response.data


def test_static_files_are_versioned_and_cached_long(client):
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]{12})"', html)
    assert css
    with client.get(css.group(1)) as response:
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]


@pytest.mark.parametrize("path", ["/", "/faq", "/faq/search?q=x", "/changelog", "/subprocessors", "/nope"])
def test_pages_link_htmx_from_our_own_origin(client, path):
    html = client.get(path).get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert any("/static/vendor/htmx.min.js" in s for s in scripts)
    assert all(s.startswith("/static/") for s in scripts)
    assert "<script>" not in html  # no inline script


def test_request_bodies_are_capped(client, app):
    response = client.post("/account/login", data={"email": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    assert response.status_code == 413
    assert b"larger than we accept" in response.data


def test_pages_promise_only_what_the_product_does(client):
    """What the sign-in page offers exists: requests (public form) and downloads (behind sign-in)."""
    page = client.get("/account/login").get_data(as_text=True).lower()
    assert "data requests" in page and client.get("/requests/new").status_code == 200
    assert "download the personal data" in page and client.get("/account/exports").status_code == 302


def test_make_test_names_a_missing_prerequisite():
    import subprocess

    from trustcenter import PROJECT_ROOT

    done = subprocess.run(["make", "--no-print-directory", "prerequisites", "CHROMIUM_PATH=no-such-chromium"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode != 0
    assert "make test needs:" in done.stderr and "apt-get install chromium" in done.stderr
    assert subprocess.run(["make", "--no-print-directory", "prerequisites"], cwd=PROJECT_ROOT,
                          capture_output=True).returncode == 0
