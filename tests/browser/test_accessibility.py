"""Every public page passes axe-core's WCAG 2.2 AA rules and loads without console errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.screens import keep_screenshot

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MOBILE = {"width": 390, "height": 844}

# path -> (expected status, a selector proving the page shows the content under test)
PUBLIC_PAGES: dict[str, tuple[int, str]] = {
    "/": (200, ".facts .fact"),
    "/faq": (200, "nav.toc"),
    "/faq/data-retention": (200, "#backup-retention"),
    "/faq/search": (200, "#search-results .empty-state"),
    "/faq/search?q=backup": (200, "#search-results .result mark"),
    "/faq/search?q=zzzzqqq": (200, "#search-results .empty-state"),
    "/subprocessors": (200, "table"),
    "/changelog": (200, ".changelog .version"),
    "/requests/new": (200, ".kind-choice"),
    "/requests/new?kind=objection": (200, "#request-form form"),
    "/subscribe": (200, "#subscribe-form"),
    "/verify": (200, "form[enctype='multipart/form-data']"),
    "/verify?code=ZZZZZ-ZZZZZ": (200, "#verdict .verdict"),
    "/no-such-page": (404, "main h1"),
}

# Run in the page: axe's violations, trimmed to what a failure message needs.
RUN_AXE = """async (tags) => {
  // resultTypes: only violations get every node listed, which makes axe markedly faster.
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return {
    passes: results.passes.length,
    violations: results.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map(n => ({target: n.target, html: n.html})),
    })),
  };
}"""


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{len(v['nodes'])} nodes] {v['helpUrl']}")
        for node in v["nodes"][:3]:
            lines.append(f"    {' '.join(node['target'])}  {node['html'][:160]}")
    return "\n".join(lines)


def unexpected(errors: list[str], path: str, live_server: str) -> list[str]:
    """Console errors, less the browser's own report of the 404 status a missing page must have."""
    if PUBLIC_PAGES[path][0] != 404:
        return errors
    own_status = re.compile(
        r"console: Failed to load resource: the server responded with a status of 404 \(not found\) "
        rf"\(at {re.escape(live_server + path)}\)",
        re.IGNORECASE,
    )
    return [e for e in errors if not own_status.fullmatch(e)]


def check_page(page: Page, live_server: str, path: str, axe_source: str, errors: list[str]) -> None:
    status, ready = PUBLIC_PAGES[path]
    response = page.goto(f"{live_server}{path}", wait_until="load")
    assert response is not None and response.status == status
    expect(page.locator(ready).first).to_be_visible()
    # Scripts are deferred, so htmx has run by `load`; the CSP reports violations by then too.
    assert page.evaluate("typeof htmx") == "object", "htmx did not load"

    page.evaluate(axe_source)  # the CSP forbids added <script> tags; evaluate is not subject to it
    results = page.evaluate(RUN_AXE, WCAG_TAGS)
    violations = results["violations"]

    assert results["passes"] > 0, "axe checked nothing; did it run on the page?"

    assert not violations, f"axe found {len(violations)} WCAG violations on {path}:\n{describe(violations)}"
    problems = unexpected(errors, path, live_server)
    assert not problems, f"console errors on {path}:\n" + "\n".join(problems)
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), f"{path} scrolls sideways"
    keep_screenshot(page, "anonymous", page.viewport_size["width"], path)


@pytest.mark.parametrize("path", list(PUBLIC_PAGES))
def test_public_page_is_accessible(
    page: Page, live_server: str, path: str, axe_source: str, page_errors: list[str], request: pytest.FixtureRequest
) -> None:
    if path == "/changelog":
        request.getfixturevalue("published")
    check_page(page, live_server, path, axe_source, page_errors)


@pytest.mark.parametrize("path", list(PUBLIC_PAGES))
def test_public_page_is_accessible_on_a_phone(
    page: Page, live_server: str, path: str, axe_source: str, page_errors: list[str], request: pytest.FixtureRequest
) -> None:
    if path == "/changelog":
        request.getfixturevalue("published")
    page.set_viewport_size(MOBILE)
    check_page(page, live_server, path, axe_source, page_errors)
