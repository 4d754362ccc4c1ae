"""The export's ZIP: data.json, its schema, CSVs, a page for people, what Art. 15(1) requires, and a manifest.

Written through `ChunkSink` in pieces of CHUNK_BYTES, each handed to `store` (which seals it), so building
holds one piece at a time; the hashes in manifest.json let anyone check every file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from trustcenter.exports.schema import SCHEMA
from trustcenter.spreadsheet import as_text

CHUNK_BYTES = 1024 * 1024


class ChunkSink:
    """A write-only file for `zipfile`: it counts, hashes, and hands on every full piece."""

    def __init__(self, store: Callable[[int, bytes], None]) -> None:
        self.store = store
        self.buffer = bytearray()
        self.position = 0
        self.pieces = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.position += len(data)
        self.digest.update(data)
        while len(self.buffer) >= CHUNK_BYTES:
            self._hand_on(bytes(self.buffer[:CHUNK_BYTES]))
            del self.buffer[:CHUNK_BYTES]
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        """zipfile flushes; pieces go on when full, and the last one in `finish`."""

    def finish(self) -> None:
        if self.buffer:
            self._hand_on(bytes(self.buffer))
            self.buffer.clear()

    def _hand_on(self, piece: bytes) -> None:
        self.store(self.pieces, piece)
        self.pieces += 1


def write_archive(sink: ChunkSink, data: dict[str, Any], about: dict[str, Any], index_html: str,
                  manifest_head: dict[str, Any]) -> dict[str, Any]:
    """Write every file and, last, manifest.json with each one's SHA-256 and size; returns the manifest."""
    files = {
        # The large file is written compact: indenting costs the C encoder (4 times slower). People read
        # index.html; JSON tools indent data.json when asked.
        "data.json": _json(data, indent=None),
        "schema.json": _json(SCHEMA),
        "about.json": _json(about),
        "index.html": index_html.encode(),
        **{f"data/{name}.csv": _csv(header, rows) for name, (header, rows) in csv_parts(data).items()},
    }
    manifest = {**manifest_head, "files": [
        {"name": name, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
        for name, content in files.items()]}
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=1) as archive:  # a third larger than level 6, three times faster
        for name, content in files.items():
            archive.writestr(name, content)
        archive.writestr("manifest.json", _json(manifest))
    sink.finish()
    return manifest


def csv_parts(data: dict[str, Any]) -> dict[str, tuple[list[str], Iterator[list[Any]]]]:
    """The table-like parts of data.json, one CSV each, every row naming its person."""
    people = data["people"]
    profile_fields = list(people[0]["profile"]) if people else []
    return {
        "people": (["person_id", *profile_fields, "role", "status", "created_at", "last_sign_in_at"],
                   ([p["id"], *p["profile"].values(), p["account"]["role"], p["account"]["status"],
                     p["account"]["created_at"], p["account"]["last_sign_in_at"]] for p in people)),
        "sign_ins": (["person_id", "at", "succeeded", "address"],
                     ([p["id"], s["at"], s["succeeded"], s["address"]] for p in people for s in p["sign_ins"])),
        "audit_entries": (["person_id", "id", "at", "action", "role", "actor", "details"],
                          ([p["id"], a["id"], a["at"], a["action"], a["role"], a["actor"],
                            json.dumps(a["details"], sort_keys=True)] for p in people for a in p["audit_entries"])),
        "requests": (["person_id", "reference", "kind", "state", "received_on", "due_on", "closed_at", "outcome"],
                     ([p["id"], r["reference"], r["kind"], r["state"], r["received_on"], r["due_on"],
                       r["closed_at"], r["outcome"]] for p in people for r in p["requests"])),
        "messages": (["person_id", "request", "at", "from", "text", "attachments"],
                     ([p["id"], r["reference"], m["at"], m["from"], m["text"], "; ".join(m["attachments"])]
                      for p in people for r in p["requests"] for m in r["messages"])),
    }


def _json(value: Any, indent: int | None = 2) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=False).encode()


def _csv(header: list[str], rows: Iterator[list[Any]]) -> bytes:
    """UTF-8 with a header row; a cell a spreadsheet would run as a formula starts with ' instead."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return text.getvalue().encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return as_text(str(value))
