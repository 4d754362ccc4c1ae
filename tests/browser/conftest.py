"""Browser tests are marked so `make test-fast` can leave them out; fixtures shared by them."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page

from trustcenter import PROJECT_ROOT

AXE_PATH = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's source, injected with page.evaluate because the CSP blocks added script tags."""
    if not AXE_PATH.exists():
        pytest.fail(f"{AXE_PATH} is missing; run `npm ci` to install axe-core")
    return Path(AXE_PATH).read_text(encoding="utf-8")


@pytest.fixture
def page_errors(page: Page) -> Iterator[list[str]]:
    """Console errors (CSP violations among them) and uncaught exceptions seen by `page`."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} (at {message.location.get('url', '?')})")

    def on_page_error(error: Error) -> None:
        errors.append(f"pageerror: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    yield errors
