"""User-facing errors.

Every failure a user can cause (a missing file, a bad row, an unknown name) raises a subclass
of :class:`ItdrError` whose message names the file, line and field where it applies and says
what to do about it. The CLI prints these messages without a traceback; anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path


class ItdrError(Exception):
    """An error the user can act on; the message is printed as is."""


class ConfigError(ItdrError):
    """An option or name the user gave is not valid."""


class SourceUnavailable(ItdrError):
    """A source's raw files are neither in the data directory nor downloadable.

    The build of the full matrix skips such a source and reports why; naming the source
    explicitly turns this into a failure.
    """


class DataError(ItdrError):
    """A raw file is present but cannot be read as the source's format."""

    def __init__(
        self,
        path: str | Path,
        problem: str,
        *,
        line: int | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        where = self.path + (f", line {line}" if line is not None else "")
        where += f", field {field!r}" if field else ""
        message = f"{where}: {problem}"
        if fix:
            message += f"\n  fix: {fix}"
        super().__init__(message)
