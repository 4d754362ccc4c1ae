"""The content pipeline: transcription, sanitising, anchors, start-up errors, caching."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trustcenter import PROJECT_ROOT, create_app
from trustcenter.faq.content import ContentError, ContentStore, load_content, sanitise

CONTENT = PROJECT_ROOT / "content"


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def test_faq_has_every_section_and_question_of_the_source():
    content = load_content(CONTENT)
    assert len(content.sections) == 11
    assert content.question_count == 27
    assert content.introduction is not None
    assert "25 May 2018" in content.introduction.intro_html
    assert "data controller" in content.introduction.intro_html


def test_the_two_lists_are_transcribed():
    content = load_content(CONTENT)
    lists = [s for s in content.sections if s.kind == "list"]
    assert len(lists) == 2
    stored = lists[0].intro_html
    for item in ["First Name", "Last Name", "Username", "Password", "Country", "State/Province",
                 "IP Address/Location Info", "Timezone", "Stripe Payment Info.", "Company Name", "Address"]:
        assert f"<li>{item}</li>" in stored
    assert "promotional" in lists[1].intro_html


def test_source_answers_are_faithful():
    questions = load_content(CONTENT).questions
    assert questions["backup-retention"].answer_text == "35 days"
    assert questions["data-centre-location"].answer_text == "UK South"
    assert "info@cloudstem.co.uk" in questions["dpo-contact"].answer_html


def test_site_facts_come_from_content_not_code():
    site = load_content(CONTENT).site
    assert site.company == "Cloud Stem"
    assert site.dpo_email == "info@cloudstem.co.uk"
    assert site.hosting_region == "UK South"
    assert [p.name for p in site.subprocessors] == ["Microsoft Azure", "SendGrid", "Twilio"]


def test_anchors_are_unique_and_stable(content_copy: Path):
    first = list(load_content(content_copy).questions)
    assert len(first) == len(set(first)) == 27
    # Rewording a question keeps its explicit anchor.
    path = content_copy / "faq" / "03-data-retention.md"
    path.write_text(path.read_text().replace("For what period is your data stored in backups?",
                                             "How long are backups kept?"))
    assert list(load_content(content_copy).questions) == first


def test_sanitiser_removes_script_handlers_and_javascript_urls():
    dirty = ('<p onclick="x()">hi</p><script>alert(1)</script><img src=x onerror=alert(1)>'
             '<a href="javascript:alert(1)">a</a><a href="https://ok.example">b</a><iframe src="x"></iframe>')
    clean = sanitise(dirty)
    for bad in ["<script", "onclick", "onerror", "javascript:", "<iframe", "<img"]:
        assert bad not in clean
    assert 'href="https://ok.example"' in clean


def test_markdown_with_raw_html_is_sanitised(content_copy: Path):
    path = content_copy / "faq" / "04-third-parties.md"
    path.write_text(path.read_text() + "\n<script>alert('x')</script>\n[x](javascript:alert(1))\n")
    html = load_content(content_copy).questions["third-party-sharing"].answer_html
    assert "<script" not in html and "javascript:" not in html


def test_broken_front_matter_names_file_and_line(content_copy: Path):
    path = content_copy / "faq" / "02-cloud-infrastructure.md"
    lines = path.read_text().splitlines()
    lines[2] = "order: [unclosed"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ContentError) as error:
        load_content(content_copy)
    assert error.value.path.endswith("02-cloud-infrastructure.md")
    assert error.value.line in (3, 4)
    assert "front matter" in str(error.value)


def test_missing_front_matter_field_is_reported(content_copy: Path):
    path = content_copy / "faq" / "04-third-parties.md"
    path.write_text(path.read_text().replace("slug: third-parties\n", ""))
    with pytest.raises(ContentError, match=r"04-third-parties.md:1: front matter needs 'slug'"):
        load_content(content_copy)


def test_duplicate_anchor_names_both_places(content_copy: Path):
    path = content_copy / "faq" / "06-data-breach.md"
    text = path.read_text().replace("{#breach-history}", "{#backup-retention}")
    path.write_text(text)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "{#backup-retention}" in l)
    with pytest.raises(ContentError) as error:
        load_content(content_copy)
    message = str(error.value)
    assert message.startswith(f"{Path('content/faq/06-data-breach.md')}:{line}: duplicate anchor 'backup-retention'")
    assert "03-data-retention.md" in message


def test_question_without_answer_is_reported(content_copy: Path):
    path = content_copy / "faq" / "04-third-parties.md"
    path.write_text(path.read_text() + "\n## An unanswered question? {#unanswered}\n")
    with pytest.raises(ContentError, match="has no answer"):
        load_content(content_copy)


def test_fact_linking_to_a_missing_question_is_reported(content_copy: Path):
    site = content_copy / "site.toml"
    site.write_text(site.read_text().replace('anchor = "backup-retention"', 'anchor = "no-such-question"'))
    with pytest.raises(ContentError, match="unknown question 'no-such-question'"):
        load_content(content_copy)


def test_broken_toml_names_the_line(content_copy: Path):
    site = content_copy / "site.toml"
    site.write_text('company = "Cloud Stem"\ndpo_email = \n')
    with pytest.raises(ContentError, match=r"site.toml:2: broken TOML"):
        load_content(content_copy)


def test_app_refuses_to_start_with_bad_content(content_copy: Path, tmp_path: Path):
    (content_copy / "faq" / "05-logs-and-analytics.md").write_text("no front matter here\n")
    with pytest.raises(ContentError, match="05-logs-and-analytics.md:1: missing front matter"):
        create_app({"ENV": "testing", "CONTENT_DIR": str(content_copy), "INSTANCE_PATH": str(tmp_path),
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})


def test_store_parses_once_and_reloads_only_on_change(content_copy: Path):
    store = ContentStore(content_copy, watch=True)
    first = store.current()
    assert store.current() is first
    path = content_copy / "faq" / "04-third-parties.md"
    path.write_text(path.read_text().replace("SendGrid for transmitting", "SendGrid for sending"))
    second = store.current()
    assert second is not first
    assert second.version != first.version
    assert "SendGrid for sending" in second.questions["third-party-sharing"].answer_text


def test_store_without_watch_keeps_the_startup_version(content_copy: Path):
    store = ContentStore(content_copy, watch=False)
    first = store.current()
    path = content_copy / "faq" / "04-third-parties.md"
    path.write_text(path.read_text() + "\nMore.\n")
    assert store.current() is first
