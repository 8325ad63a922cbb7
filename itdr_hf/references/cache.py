"""A persistent store of accepted LLM answers, so references are fetched once and rebuilt forever.

Answers are keyed by (writer, model, prompt hash, generation parameters) — nothing about the
row, the run or the endpoint's URL — so a rebuild, a resumed run or a build on another machine
with the same prompts finds them. Each answer is committed the moment it arrives: an
interrupted run loses at most the requests in flight.

SQLite (standard library, one file, atomic commits, safe to read while another process writes)
is the working store; JSONL is the exchange format shipped beside a release
(:meth:`ReferenceCache.export_jsonl`, :meth:`ReferenceCache.import_jsonl`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    writer TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_sha256 TEXT NOT NULL,
    params TEXT NOT NULL,
    answer TEXT NOT NULL,
    row_id TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
)
"""


def prompt_digest(messages: list[dict]) -> str:
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def cache_key(writer: str, model: str, prompt_sha256: str, params: dict) -> str:
    payload = json.dumps([writer, model, prompt_sha256, params], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One accepted answer and what it answers; a line of the exported JSONL."""

    key: str
    writer: str
    model: str
    prompt_sha256: str
    params: dict
    answer: str
    row_id: str = ""
    created: float = 0.0


class ReferenceCache:
    """Thread-safe SQLite store of :class:`Entry`; one connection, guarded by a lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # another build writing the same cache holds its lock for milliseconds; wait rather than fail
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the reference cache {self.path}: {exc}; choose another --reference-cache") from exc
        self._lock = threading.Lock()

    def __enter__(self) -> ReferenceCache:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, entry: Entry) -> None:
        """Store (or replace) one answer and commit it at once, so a crash right after keeps it."""
        created = entry.created or time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.key, entry.writer, entry.model, entry.prompt_sha256, json.dumps(entry.params, sort_keys=True),
                 entry.answer, entry.row_id, created),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def entries(self, keys: Iterable[str] | None = None) -> Iterator[Entry]:
        """Every entry (or those of ``keys``), ordered by key so an export is byte-for-byte reproducible."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, writer, model, prompt_sha256, params, answer, row_id, created FROM answers ORDER BY key"
            ).fetchall()
        wanted = set(keys) if keys is not None else None
        for key, writer, model, digest, params, answer, row_id, created in rows:
            if wanted is None or key in wanted:
                yield Entry(key, writer, model, digest, json.loads(params), answer, row_id, created)

    def export_jsonl(self, path: str | Path, keys: Iterable[str] | None = None) -> int:
        """Write entries as JSON lines (sorted by key, without timestamps); returns how many."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        count = 0
        with tmp.open("w", encoding="utf-8") as out:
            for entry in self.entries(keys):
                line = asdict(entry)
                line.pop("created")
                out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
        tmp.replace(path)
        return count

    def import_jsonl(self, path: str | Path) -> int:
        """Load entries written by :meth:`export_jsonl`; an entry whose key does not match its content is refused."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"reference cache to import not found: {path}")
        count = 0
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    entry = Entry(**{k: data[k] for k in ("key", "writer", "model", "prompt_sha256", "params", "answer")},
                                  row_id=data.get("row_id", ""))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ConfigError(f"{path}, line {number}: not a reference-cache entry ({exc})") from None
                if cache_key(entry.writer, entry.model, entry.prompt_sha256, entry.params) != entry.key:
                    raise ConfigError(f"{path}, line {number}: its key does not match its writer, model, prompt and params")
                self.put(entry)
                count += 1
        return count


def export_cache(cache_path: str | Path, out: str | Path) -> int:
    """Export a whole cache file to JSONL (every answer it holds); returns how many entries."""
    with ReferenceCache(cache_path) as cache:
        return cache.export_jsonl(out)


def import_cache(cache_path: str | Path, jsonl: str | Path) -> int:
    """Load an exported JSONL into a cache file; returns how many entries."""
    with ReferenceCache(cache_path) as cache:
        return cache.import_jsonl(jsonl)
