"""A persistent, append-only cache of HTTP API responses (JSONL), keyed by the request.

The key is a SHA-256 of (route, request body); the body holds the endpoint's model name, the
prompt and every generation setting, so a changed setting is a cache miss, never a stale answer.
Each answer is appended and flushed as soon as it arrives: an interrupted run loses at most the
requests in flight, and a rerun sends only the requests it has no answer for. A torn last line
(the process killed mid-write) is ignored. Nothing secret is stored: headers are not part of the
key or the entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from typing import Any


def request_key(route: str, body: Mapping[str, Any]) -> str:
    blob = json.dumps([route, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """``get(key)`` / ``put(key, response)``; ``path=None`` keeps nothing (every lookup misses)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Any]] = {}
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                        self._data[entry["key"]] = entry["response"]
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn line from an interrupted write
        self._fh = None

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._data.get(key)

    def values(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._data.values())

    def put(self, key: str, response: dict[str, Any]) -> None:
        with self._lock:
            self._data[key] = response
            if not self.path:
                return
            if self._fh is None:
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open across puts
                if self._fh.tell() and not _ends_with_newline(self.path):
                    self._fh.write("\n")  # after a torn line, start a fresh one
            self._fh.write(json.dumps({"key": key, "response": response}, ensure_ascii=False) + "\n")
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"
