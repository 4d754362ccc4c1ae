"""In-memory FAQ search: matching, ranking, highlighting, escaping."""

from hypothesis import given, settings, strategies as st

from trustcenter import PROJECT_ROOT
from markupsafe import Markup

from trustcenter.faq.content import Content, Question, load_content
from trustcenter.faq.search import search, terms_of

CONTENT = load_content(PROJECT_ROOT / "content")


def anchors(query: str) -> list[str]:
    return [hit.question.anchor for hit in search(CONTENT, query)]


def test_backup_finds_both_backup_questions_and_no_password_question():
    found = anchors("backup")
    assert set(found) == {"backup-retention", "backup-location"}
    assert "password-complexity" not in found


def test_every_term_must_match():
    assert anchors("backups UK") == ["backup-location"]


def test_question_matches_rank_above_answer_matches():
    def question(anchor, text, answer):
        return Question(anchor, text, Markup(answer), answer, CONTENT.sections[0].slug)

    content = Content("v", CONTENT.site, None, (CONTENT.sections[0],), {
        "answer-heavy": question("answer-heavy", "Where is it kept?", "Backups, backups, backups and backups."),
        "in-question": question("in-question", "How long are backups kept?", "35 days."),
    })
    assert [hit.question.anchor for hit in search(content, "backups")] == ["in-question", "answer-heavy"]


def test_matches_are_highlighted_and_html_is_escaped():
    hit = search(CONTENT, "backups")[0]
    assert "<mark>backups</mark>" in hit.question_html.lower()
    assert "<" not in str(terms_of("<script>"))
    assert search(CONTENT, "<script>alert(1)</script>") == []


def test_empty_and_punctuation_queries_find_nothing():
    assert search(CONTENT, "") == []
    assert search(CONTENT, "  ... --- ") == []


def test_case_and_word_prefix_matching():
    assert anchors("BACKUP") == anchors("backup")
    assert "log-retention" in anchors("log")
    assert "log-retention" not in anchors("og")  # matches start at a word boundary


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_query_returns_hits_whose_highlight_is_escaped(query):
    for hit in search(CONTENT, query):
        assert "<script" not in hit.question_html
        assert str(hit.question_html).count("<mark>") == str(hit.question_html).count("</mark>")
