"""Screenshots of the pages the browser tests visit, kept for people reviewing a change (git ignores them)."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from trustcenter import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"


def keep_screenshot(page: Page, role: str, width: int, path: str) -> None:
    """For people reviewing a change: every role's pages as they look, kept by CI (never committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "-", f"{role}-{width}-{path}".lower()).strip("-")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
