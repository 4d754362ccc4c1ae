"""Signed PDF attestations: posture, fulfilment certificates, registers; and /verify to check them."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from trustcenter.crypto.certificates import (
    SigningIdentity,
    generate_development_identity,
    load_signing_identity,
)

SIGNING = "signing_identity"


def init_attestations(app: Flask) -> None:
    """Load the document-signing identity (development makes its own, marked as such)."""
    key_dir = Path(app.instance_path) / "keys"
    production = app.config["ENV"] == "production"
    if not production:
        generate_development_identity(key_dir, _company(app))
    app.extensions[SIGNING] = load_signing_identity(os.environ, key_dir, production)


def signing_identity(app: Flask) -> SigningIdentity:
    return app.extensions[SIGNING]


def uses_development_ca(app: Flask) -> bool:
    return signing_identity(app).is_development


def _company(app: Flask) -> str:
    from trustcenter.faq.content import ContentError, parse_site

    try:
        return parse_site(Path(app.config["CONTENT_DIR"]) / "site.toml").company
    except (ContentError, OSError):
        return "trustcenter"
