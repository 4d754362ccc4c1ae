"""The content the running application serves; the one Flask-aware way to reach it."""

from __future__ import annotations

from flask import current_app

from trustcenter.faq.content import Content


def current_content() -> Content:
    """The parsed content of the current version (re-read on change in development)."""
    return current_app.extensions["content"].current()
