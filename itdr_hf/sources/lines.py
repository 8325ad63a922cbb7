"""Streaming line-oriented raw files (JSON lines, Python-literal lines, TSV), plain or gzipped.

Large sources are tens of GB: one bad line must not cost the user the whole run. Each reader
counts the lines it had to skip in a :class:`BadLines` budget, which fails the build only when
skipped lines pass ``max_bad_line_fraction`` of those read (the first few are always allowed),
and names the first bad line, its field and what was wrong so the user can look.
"""

from __future__ import annotations

import ast
import gzip
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import DataError

ALWAYS_ALLOWED = 10


@dataclass
class BadLines:
    path: Path
    max_fraction: float
    fix: str = "re-download the file"
    count: int = 0
    seen: int = 0
    first: str | None = None
    examples: list[str] = field(default_factory=list)

    def ok(self) -> None:
        self.seen += 1

    def bad(self, line: int, problem: str, field: str | None = None) -> None:
        self.seen += 1
        self.count += 1
        where = f"line {line}" + (f", field {field!r}" if field else "")
        if len(self.examples) < 5:
            self.examples.append(f"{where}: {problem}")
        if self.count > ALWAYS_ALLOWED and self.count > self.max_fraction * self.seen and self.seen >= 1000:
            self.fail()

    def finish(self) -> None:
        if self.count > ALWAYS_ALLOWED and self.count > self.max_fraction * max(self.seen, 1):
            self.fail()

    def fail(self) -> None:
        raise DataError(
            self.path,
            f"{self.count} of {self.seen} lines could not be read (more than {self.max_fraction:.2%} allowed); "
            f"first: {'; '.join(self.examples)}",
            fix=f"check that this is the source's original file ({self.fix}), or raise --max-bad-line-fraction",
        )

    def summary(self) -> dict:
        return {"file": str(self.path), "skipped": self.count, "read": self.seen, "examples": self.examples}


def open_text(path: Path, encoding: str = "utf-8", errors: str = "strict"):
    """Open plain or gzipped text by content, not by name."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding=encoding, errors=errors, newline="")
    return open(path, "rt", encoding=encoding, errors=errors, newline="")


def iter_raw_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, bytes]]:
    """Numbered raw lines; a truncated or corrupt gzip stream is a DataError naming the last good line."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    stream = gzip.open(path, "rb") if gz else open(path, "rb")
    number = 0
    try:
        with stream:
            for number, raw in enumerate(stream, start=1):
                yield number, raw
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise DataError(
            path,
            f"compressed stream ends early or is corrupt after line {number} ({exc})",
            line=number + 1,
            fix="the download is truncated: delete the file and download it again",
        ) from None


def iter_records(
    path: Path,
    bad: BadLines,
    *,
    parse: str = "json",
    required: Iterable[str] = (),
    encoding: str = "utf-8",
) -> Iterator[dict]:
    """Yield one dict per line; undecodable, unparseable or incomplete lines are counted in ``bad``.

    ``parse``: ``"json"`` (JSON lines) or ``"python"`` (one Python dict literal per line, as the
    UCSD Steam files are; parsed with :func:`ast.literal_eval`, never ``eval``).
    """
    loads: Callable[[str], object] = json.loads if parse == "json" else ast.literal_eval
    required = tuple(required)
    for number, raw in iter_raw_lines(path):
        if not raw.strip():
            continue
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as err:
            bad.bad(number, f"not valid {encoding} at byte {err.start}")
            continue
        try:
            record = loads(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError) as err:
            bad.bad(number, f"does not parse as {'JSON' if parse == 'json' else 'a Python literal'} ({err})")
            continue
        if not isinstance(record, dict):
            bad.bad(number, f"is a {type(record).__name__}, not an object")
            continue
        missing = next((f for f in required if record.get(f) in (None, "")), None)
        if missing:
            bad.bad(number, "missing or empty", field=missing)
            continue
        bad.ok()
        yield record
    bad.finish()
