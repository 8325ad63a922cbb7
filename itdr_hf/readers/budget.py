"""The bad-line budget every reader counts skipped lines in.

Large sources are tens of GB: one bad line must not cost the user the whole run. Each reader
counts the lines it had to skip in a :class:`BadLines` budget, which fails the build only when
skipped lines pass ``max_bad_line_fraction`` of those read (the first few are always allowed),
and names the first bad line, its field and what was wrong so the user can look.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

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

    def bad(self, line: int | None, problem: str, field: str | None = None, *, row: int | None = None) -> None:
        """``row``: the 1-based data row, named instead of a line where quoted line breaks make them differ."""
        self.seen += 1
        self.count += 1
        where = (f"line {line}" if line is not None else f"data row {row}") + (f", field {field!r}" if field else "")
        if len(self.examples) < 5:
            self.examples.append(f"{where}: {problem}")
        if self.count > ALWAYS_ALLOWED and self.count > self.max_fraction * self.seen and self.seen >= 1000:
            self.fail()

    def reject(self, line: int | None, problem: str, field: str | None = None, *, row: int | None = None) -> None:
        """A line counted as read turned out unusable (a value failed to convert after parsing)."""
        self.seen -= 1
        self.bad(line, problem, field, row=row)

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

@dataclass
class Degraded:
    """Rows kept or dropped for one named reason that is not a malformed line (an empty title, a
    duplicate id, a date whose year had to be guessed): counted per reason for the report, so
    nothing the reader changes or leaves out goes unsaid. Not part of the bad-line budget."""

    path: Path
    reason: str
    count: int = 0
    seen: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, line: int | None, example: str) -> None:
        self.count += 1
        if len(self.examples) < 5:
            self.examples.append(f"line {line}: {example}" if line is not None else example)

    def summary(self) -> dict:
        return {"file": str(self.path), "skipped": self.count, "read": self.seen, "examples": self.examples,
                "reason": self.reason}

class BadValue(ValueError):
    """Raised by a ``convert`` function: the line parsed, but ``field`` holds an unusable value."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def iso_seconds(value: object, field: str) -> int:
    """Seconds since the epoch of an ISO date or date-time (``2017-06-26`` or ``2018-01-01 12:00:00``),
    read as UTC; anything else is a :class:`BadValue` in ``field``. Yelp and Steam both date their
    reviews this way."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise BadValue(field, f"not a date: {value!r}") from None
    return int(moment.replace(tzinfo=timezone.utc).timestamp())
