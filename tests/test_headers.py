"""Security headers on every response; HSTS only over HTTPS, proxies only when trusted."""

from __future__ import annotations

import pytest

from trustcenter import create_app

PATHS = ["/", "/faq", "/faq/data-breach", "/faq/search?q=backup", "/subprocessors", "/changelog",
         "/changelog.atom", "/.well-known/security.txt", "/robots.txt", "/healthz", "/nope"]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers


def test_hsts_over_https(client):
    response = client.get("/faq", base_url="https://trust.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")


def test_forwarded_proto_is_ignored_unless_proxy_is_trusted(client):
    response = client.get("/faq", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_forwarded_proto_is_honoured_behind_a_trusted_proxy(app_config):
    app = create_app({**app_config, "TRUST_PROXY": True})
    response = app.test_client().get("/faq", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers
