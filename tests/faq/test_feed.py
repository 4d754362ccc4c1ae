"""The Atom feed stays well-formed XML and hands feed readers user text as text, never as markup."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest

from trustcenter import PROJECT_ROOT

ATOM = {"a": "http://www.w3.org/2005/Atom"}
COMPANY = 'Cloud & <Stem> "Ltd" ]]>'
NOTE = '<script>alert(1)</script><a href="javascript:x">x</a> & done'
QUESTION = "How to contact us with <b>data</b> &amp; queries?"


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """The real content, with a company name and a question that are hostile to XML and HTML."""
    target = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", target)
    site = target / "site.toml"
    site.write_text(site.read_text().replace('company = "Cloud Stem"', f"company = '{COMPANY}'"))
    faq = target / "faq" / "01-data-protection.md"
    faq.write_text(faq.read_text().replace("How to contact us with data queries?", QUESTION))
    return target


@pytest.fixture
def feed_bytes(app, runner, client) -> bytes:
    """The feed after publishing the hostile content through the CLI, with a hostile note."""
    result = runner.invoke(args=["content", "publish", "--note", NOTE])
    assert result.exit_code == 0, result.output
    response = client.get("/changelog.atom")
    assert response.status_code == 200
    return response.data


class _Elements(HTMLParser):
    """Every start tag and its attributes, as a browser-like feed reader would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def test_feed_is_well_formed_xml_with_the_company_name_as_text(feed_bytes):
    feed = ET.fromstring(feed_bytes)
    assert feed.find("a:title", ATOM).text == f"{COMPANY} trust center changes"
    assert feed.find("a:author/a:name", ATOM).text == COMPANY


def test_feedparser_reads_the_feed_cleanly(feed_bytes):
    parsed = feedparser.parse(feed_bytes)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == f"{COMPANY} trust center changes"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in parsed.entries[0].content[0].value


def test_entry_content_carries_the_note_and_questions_as_text_not_markup(feed_bytes):
    entry = ET.fromstring(feed_bytes).find("a:entry", ATOM)
    content = entry.find("a:content", ATOM)
    assert content.get("type") == "html"
    assert len(content) == 0, "the entry's HTML must be escaped text, not XML elements"
    html = content.text  # the HTML a reader renders, once the XML escaping is undone
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;a href=&#34;javascript:x&#34;&gt;x&lt;/a&gt; &amp; done" in html
    assert "&lt;b&gt;data&lt;/b&gt; &amp;amp; queries?" in html
    elements = _Elements()
    elements.feed(html)
    tags = {tag for tag, _ in elements.tags}
    assert tags == {"p"}, tags  # only the fragment's own paragraphs are live
    assert not any("javascript:" in (value or "") for _, attrs in elements.tags for _, value in attrs)
