"""Search the FAQ in memory: every term must match, questions rank above answers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from trustcenter.faq.content import Content, Question

MAX_TERMS = 8
SNIPPET_CHARS = 220
# A match in the question weighs more than any number of matches in the answer.
QUESTION_WEIGHT = 100


@dataclass(frozen=True)
class Hit:
    question: Question
    section_title: str
    score: int
    question_html: Markup
    snippet_html: Markup


def terms_of(query: str) -> list[str]:
    """Lower-case words of the query, deduplicated, at most `MAX_TERMS`."""
    words = re.findall(r"[\w@.'-]+", query.lower())
    unique = list(dict.fromkeys(w.strip(".'-") for w in words if w.strip(".'-")))
    return unique[:MAX_TERMS]


def _pattern(terms: list[str]) -> re.Pattern[str]:
    # Match at the start of a word, so "backup" finds "backups" but not "abackup".
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})", re.IGNORECASE)


def highlight(text: str, pattern: re.Pattern[str]) -> Markup:
    """Escape `text` and wrap every match in <mark>."""
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(escape(text[last:match.start()]))
        parts.append(Markup("<mark>%s</mark>") % match.group(0))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def snippet(text: str, pattern: re.Pattern[str]) -> str:
    """A window of the answer around its first match."""
    if len(text) <= SNIPPET_CHARS:
        return text
    match = pattern.search(text)
    start = max(0, (match.start() if match else 0) - SNIPPET_CHARS // 3)
    window = text[start:start + SNIPPET_CHARS]
    return ("…" if start else "") + window + ("…" if start + SNIPPET_CHARS < len(text) else "")


def _score(question: Question, term_patterns: list[re.Pattern[str]]) -> int:
    score = 0
    for term in term_patterns:
        in_question = len(term.findall(question.text))
        in_answer = len(term.findall(question.answer_text))
        if not (in_question or in_answer):
            return 0
        score += in_question * QUESTION_WEIGHT + in_answer
    return score


def search(content: Content, query: str) -> list[Hit]:
    """Questions matching every term of `query`, best first."""
    terms = terms_of(query)
    if not terms:
        return []
    combined = _pattern(terms)
    per_term = [_pattern([t]) for t in terms]
    titles = {s.slug: s.title for s in content.sections}
    hits = []
    for order, question in enumerate(content.questions.values()):
        score = _score(question, per_term)
        if score:
            hits.append((score, -order, Hit(
                question=question,
                section_title=titles[question.section_slug],
                score=score,
                question_html=highlight(question.text, combined),
                snippet_html=highlight(snippet(question.answer_text, combined), combined),
            )))
    hits.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [hit for _score_, _order, hit in hits]
