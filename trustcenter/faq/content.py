"""Load the Markdown FAQ and site facts from `content/`; no Flask imports.

Content is parsed once per version (a hash of the files) and sanitised against
a safelist, so a slip in the Markdown cannot become script on the page. Broken
content raises `ContentError` naming the file and line, so the site refuses to
start rather than serve half a FAQ.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import frontmatter
import markdown
import nh3
import yaml
from markupsafe import Markup

QUESTION_HEADING = re.compile(r"^##\s+(?P<text>.+?)\s*(?:\{#(?P<anchor>[^}\s]*)\})?\s*$")
VALID_ANCHOR = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
SAFE_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h3", "h4",
    "hr", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}
SAFE_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}}
SAFE_URL_SCHEMES = {"https", "http", "mailto"}


class ContentError(ValueError):
    """Content that cannot be served; the message starts with `file:line:`."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        self.path, self.line = str(path), line
        super().__init__(f"{path}:{line}: {message}")


@dataclass(frozen=True)
class Question:
    anchor: str
    text: str
    answer_html: Markup
    answer_text: str
    section_slug: str


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    order: int
    updated: dt.date
    summary: str
    kind: str
    intro_html: Markup
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    anchor: str


@dataclass(frozen=True)
class Subprocessor:
    name: str
    purpose: str
    location: str
    website: str = ""


@dataclass(frozen=True)
class Site:
    company: str
    dpo_email: str
    hosting_region: str
    tagline: str = ""
    country: str = ""
    legal_role: str = "processor"
    security_contact: str = ""
    site_url: str = ""
    dpo_name: str = ""
    logo: str = ""  # an SVG or PNG file in the content folder, for signed documents
    facts: tuple[Fact, ...] = ()
    subprocessors: tuple[Subprocessor, ...] = ()


@dataclass(frozen=True)
class Content:
    version: str
    site: Site
    introduction: Section | None
    sections: tuple[Section, ...]
    questions: dict[str, Question] = field(default_factory=dict)

    @property
    def updated(self) -> dt.date:
        dates = [s.updated for s in self.sections]
        if self.introduction:
            dates.append(self.introduction.updated)
        return max(dates)

    def section(self, slug: str) -> Section | None:
        return next((s for s in self.sections if s.slug == slug), None)

    @property
    def question_count(self) -> int:
        return len(self.questions)


def content_files(root: Path) -> list[Path]:
    """Every file that makes up a content version, in a stable order."""
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix in {".md", ".toml", ".svg", ".png"}]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def content_digest(root: Path) -> str:
    """A hash of every content file's name and bytes: the content version."""
    digest = hashlib.sha256()
    for path in content_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def sanitise(html: str) -> Markup:
    """Keep only safelisted tags, attributes and URL schemes; the result is safe to embed."""
    return Markup(nh3.clean(
        html,
        tags=SAFE_TAGS,
        attributes=SAFE_ATTRIBUTES,
        url_schemes=SAFE_URL_SCHEMES,
        link_rel="noopener noreferrer",
    ))


def render_markdown(text: str) -> Markup:
    md = markdown.Markdown(extensions=["sane_lists", "tables", "abbr", "def_list"])
    return sanitise(md.convert(text))


def plain_text(html: str) -> str:
    """Text of sanitised HTML, for search and diffs."""
    text = nh3.clean(html, tags=set())
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text).strip()


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:64].rstrip("-") or "question"


def _read_front_matter(path: Path, root: Path) -> tuple[dict[str, Any], str, int]:
    """Return metadata, body and the file line on which the body starts."""
    raw = path.read_text(encoding="utf-8")
    name = path.relative_to(root.parent) if root.parent in path.parents else path
    if not raw.startswith("---"):
        raise ContentError(name, 1, "missing front matter: the file must start with '---'")
    try:
        post = frontmatter.loads(raw)
    except yaml.YAMLError as exc:
        # The context mark points at the construct that broke, the problem mark where parsing gave up.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise ContentError(name, line, f"broken front matter: {getattr(exc, 'problem', exc)}") from None
    except ValueError as exc:
        raise ContentError(name, 1, f"broken front matter: {exc}") from None
    # The parser strips the body, so find where it really starts for line numbers.
    front_end = raw.find("\n---", 3) + 4
    body_offset = raw.find(post.content, front_end) if post.content else front_end
    return dict(post.metadata), post.content, raw.count("\n", 0, max(body_offset, 0)) + 1


def _require(meta: dict[str, Any], key: str, kind: type, name: Path) -> Any:
    value = meta.get(key)
    if kind is dt.date and isinstance(value, dt.date):
        return value
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        raise ContentError(name, 1, f"front matter needs '{key}' ({kind.__name__})")
    return value


def _split_questions(body: str, first_line: int, name: Path) -> tuple[str, list[tuple[int, str, str | None, str]]]:
    """Split a section body into its intro and (line, question, anchor, answer) tuples."""
    intro: list[str] = []
    questions: list[tuple[int, str, str | None, list[str]]] = []
    in_fence = False
    for offset, line in enumerate(body.splitlines()):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else QUESTION_HEADING.match(line)
        if match:
            questions.append((first_line + offset, match["text"], match["anchor"], []))
        elif questions:
            questions[-1][3].append(line)
        else:
            intro.append(line)
    for line_no, text, _anchor, answer in questions:
        if not "\n".join(answer).strip():
            raise ContentError(name, line_no, f"question {text!r} has no answer")
    return "\n".join(intro), [(n, t, a, "\n".join(ans)) for n, t, a, ans in questions]


def parse_section(path: Path, root: Path, anchors: dict[str, str]) -> Section:
    """Parse one section file; `anchors` maps every anchor seen so far to its place."""
    meta, body, body_line = _read_front_matter(path, root)
    name = path.relative_to(root.parent) if root.parent in path.parents else path
    slug = _require(meta, "slug", str, name)
    if not VALID_ANCHOR.match(slug):
        raise ContentError(name, 1, f"slug {slug!r} must be lowercase letters, digits and hyphens")
    intro, raw_questions = _split_questions(body, body_line, name)
    questions = []
    for line_no, text, anchor, answer in raw_questions:
        anchor = anchor if anchor is not None else slugify(text)
        if not VALID_ANCHOR.match(anchor):
            raise ContentError(name, line_no, f"anchor {anchor!r} must be lowercase letters, digits and hyphens")
        if anchor in anchors:
            raise ContentError(name, line_no, f"duplicate anchor {anchor!r}, already used at {anchors[anchor]}")
        anchors[anchor] = f"{name}:{line_no}"
        html = render_markdown(answer)
        questions.append(Question(anchor, text.strip(), html, plain_text(html), slug))
    return Section(
        slug=slug,
        title=_require(meta, "title", str, name),
        order=_require(meta, "order", int, name),
        updated=_require(meta, "updated", dt.date, name),
        summary=str(meta.get("summary", "")),
        kind=str(meta.get("kind", "questions")),
        intro_html=render_markdown(intro) if intro.strip() else Markup(""),
        questions=tuple(questions),
    )


def parse_site(path: Path) -> Site:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(exc))) else 1
        raise ContentError(path, line, f"broken TOML: {exc}") from None
    try:
        facts = tuple(Fact(**f) for f in data.pop("facts", []))
        subprocessors = tuple(Subprocessor(**{k: v for k, v in s.items() if k != "notes"})
                              for s in data.pop("subprocessors", []))
        known = {k: v for k, v in data.items() if k in Site.__dataclass_fields__}
        return Site(**known, facts=facts, subprocessors=subprocessors)
    except TypeError as exc:
        raise ContentError(path, 1, f"site settings: {exc}") from None


def load_content(root: Path) -> Content:
    """Parse the whole content folder; raise `ContentError` on the first problem."""
    root = Path(root)
    site_file = root / "site.toml"
    if not site_file.is_file():
        raise ContentError(site_file, 1, "site settings file is missing")
    site = parse_site(site_file)
    anchors: dict[str, str] = {}
    parsed = [parse_section(p, root, anchors) for p in sorted((root / "faq").glob("*.md"))]
    intro = next((s for s in parsed if s.kind == "introduction"), None)
    sections = tuple(sorted((s for s in parsed if s is not intro), key=lambda s: s.order))
    _check_unique_slugs(sections, root)
    questions = {q.anchor: q for s in sections for q in s.questions}
    for fact in site.facts:
        if fact.anchor not in questions:
            raise ContentError(site_file, 1, f"fact {fact.label!r} links to unknown question {fact.anchor!r}")
    return Content(content_digest(root), site, intro, sections, questions)


def _check_unique_slugs(sections: Iterable[Section], root: Path) -> None:
    seen: set[str] = set()
    for section in sections:
        if section.slug in seen:
            raise ContentError(root / "faq", 1, f"duplicate section slug {section.slug!r}")
        seen.add(section.slug)


class ContentStore:
    """Serves the parsed content, re-parsing only when the files change.

    With `watch=False` (production) the content is read once at start-up;
    with `watch=True` (development) a cheap fingerprint of file sizes and
    modification times is checked on each access.
    """

    def __init__(self, root: Path | str, watch: bool = False) -> None:
        self.root = Path(root)
        self.watch = watch
        self._lock = threading.Lock()
        self._fingerprint = self._stat_fingerprint()
        self._content = load_content(self.root)

    def _stat_fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        return tuple((str(p), (st := p.stat()).st_size, st.st_mtime_ns) for p in content_files(self.root))

    def current(self) -> Content:
        if self.watch:
            fingerprint = self._stat_fingerprint()
            if fingerprint != self._fingerprint:
                with self._lock:
                    self._content = load_content(self.root)
                    self._fingerprint = fingerprint
        return self._content
