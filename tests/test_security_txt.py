"""security.txt as a validator reads it: RFC 9116 fields, https addresses, and a line break after every line."""

from __future__ import annotations

import pytest
from sectxt import Parser


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SITE_URL": "https://trust.example"}


def test_security_txt_is_valid_rfc_9116(client):
    body = client.get("/.well-known/security.txt").data
    parser = Parser(body)
    assert parser.errors == [] and parser.is_valid()
    assert body.endswith(b"\n") and b"\r" not in body
    # Left as recommendations: a PGP key and an OpenPGP signature, which the operator provides.
    assert {r["code"] for r in parser.recommendations} <= {"no_encryption", "not_signed"}
