"""Publishing content versions and describing what changed between them."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustcenter.db import as_utc
from trustcenter.faq.content import Content
from trustcenter.faq.models import ContentVersion


@dataclass(frozen=True)
class Segment:
    """A run of words in a diff: `op` is "same", "del" or "ins"."""

    op: str
    text: str


@dataclass(frozen=True)
class ChangedQuestion:
    anchor: str
    question: str
    question_diff: tuple[Segment, ...]
    answer_diff: tuple[Segment, ...]


@dataclass
class ChangelogEntry:
    version: ContentVersion
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    changed: list[ChangedQuestion] = field(default_factory=list)

    @property
    def is_first(self) -> bool:
        return bool(self.version.snapshot.get("first"))

    @property
    def summary(self) -> str:
        parts = [f"{len(items)} {label}" for items, label in
                 ((self.added, "added"), (self.changed, "changed"), (self.removed, "removed")) if items]
        return ", ".join(parts) or "wording and layout only"


def snapshot_of(content: Content) -> dict[str, Any]:
    """What the changelog needs to compare two versions."""
    titles = {s.slug: s.title for s in content.sections}
    return {
        "questions": [
            {"anchor": q.anchor, "section": titles[q.section_slug], "question": q.text, "answer": q.answer_text}
            for q in content.questions.values()
        ],
        "subprocessors": [{"name": s.name, "purpose": s.purpose, "location": s.location}
                          for s in content.site.subprocessors],
    }


def subprocessor_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed in the subprocessor list between two snapshots, in words (older snapshots have none)."""
    if "subprocessors" not in old or "subprocessors" not in new:
        return []
    before = {s["name"]: s for s in old["subprocessors"]}
    after = {s["name"]: s for s in new["subprocessors"]}
    lines = [f"Added: {name} ({s['purpose']}, {s['location']})" for name, s in after.items() if name not in before]
    lines += [f"Removed: {name}" for name in before if name not in after]
    lines += [f"Changed: {name} (now {s['purpose']}, {s['location']})" for name, s in after.items()
              if name in before and before[name] != s]
    return lines


def latest_version(session: Session) -> ContentVersion | None:
    return session.scalars(select(ContentVersion).order_by(ContentVersion.id.desc()).limit(1)).first()


def published_at(session: Session, digest: str, known: dict[str, dt.datetime]) -> dt.datetime | None:
    """When the content version `digest` was published, or None while it is not.

    `known` remembers dates found (a published version's date never changes), so
    each process asks the database once per version.
    """
    if digest not in known:
        found = session.scalar(select(ContentVersion.published_at).where(ContentVersion.digest == digest))
        if found is None:
            return None
        known[digest] = as_utc(found)
    return known[digest]


def publish(session: Session, content: Content, note: str = "", when: dt.datetime | None = None,
            snapshot: dict[str, Any] | None = None, digest: str | None = None) -> ContentVersion | None:
    """Record `content` as a new version unless it is already the latest one."""
    digest = digest or content.version
    latest = latest_version(session)
    if latest is not None and latest.digest == digest:
        return None
    data = snapshot if snapshot is not None else snapshot_of(content)
    data = {**data, "first": latest is None}
    version = ContentVersion(digest=digest, note=note, snapshot=data,
                             published_at=when or dt.datetime.now(dt.timezone.utc))
    session.add(version)
    session.commit()
    return version


def word_diff(old: str, new: str) -> tuple[Segment, ...]:
    """Word-level differences between two texts, for a readable inline diff."""
    a, b = re.findall(r"\S+\s*", old), re.findall(r"\S+\s*", new)
    segments: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(Segment("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("del", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("ins", "".join(b[j1:j2])))
    return tuple(segments)


def compare(old: dict[str, Any], new: dict[str, Any], entry: ChangelogEntry) -> ChangelogEntry:
    before = {q["anchor"]: q for q in old["questions"]}
    after = {q["anchor"]: q for q in new["questions"]}
    entry.added = [q for a, q in after.items() if a not in before]
    entry.removed = [q for a, q in before.items() if a not in after]
    for anchor, q in after.items():
        prev = before.get(anchor)
        if prev and (prev["question"], prev["answer"]) != (q["question"], q["answer"]):
            entry.changed.append(ChangedQuestion(
                anchor, q["question"], word_diff(prev["question"], q["question"]),
                word_diff(prev["answer"], q["answer"])))
    return entry


def changelog(session: Session, limit: int = 50) -> list[ChangelogEntry]:
    """Published versions, newest first, each with what changed since the one before."""
    versions = list(session.scalars(select(ContentVersion).order_by(ContentVersion.id.desc()).limit(limit + 1)))
    entries = []
    for version, previous in zip(versions, versions[1:] + [None]):
        entry = ChangelogEntry(version)
        if previous is not None:
            compare(previous.snapshot, version.snapshot, entry)
        elif not version.snapshot.get("first"):
            continue  # older history beyond the limit
        else:
            entry.added = list(version.snapshot["questions"])
        entries.append(entry)
    return entries[:limit]
