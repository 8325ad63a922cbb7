"""Streaming line-oriented raw files (JSON lines, Python-literal lines, TSV), plain or gzipped.

Large sources are tens of GB: one bad line must not cost the user the whole run. Each reader
counts the lines it had to skip in a :class:`BadLines` budget, which fails the build only when
skipped lines pass ``max_bad_line_fraction`` of those read (the first few are always allowed),
and names the first bad line, its field and what was wrong so the user can look.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError
from ..tables import TextStore
from . import python_literal
from .textio import first_undecodable_line

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

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


def open_text(path: Path, encoding: str = "utf-8", errors: str = "strict"):
    """Open plain or gzipped text by content, not by name."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding=encoding, errors=errors, newline="")
    return open(path, encoding=encoding, errors=errors, newline="")


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


class BadValue(ValueError):
    """Raised by a ``convert`` function: the line parsed, but ``field`` holds an unusable value."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


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
    UCSD Steam files are; parsed by :func:`python_literal.loads`, which gives exactly what
    :func:`ast.literal_eval` gives, faster, and never uses ``eval``).
    """
    for _, record in iter_numbered(path, bad, parse=parse, required=required, encoding=encoding):
        yield record


def iter_numbered(
    path: Path,
    bad: BadLines,
    *,
    parse: str = "json",
    required: Iterable[str] = (),
    encoding: str = "utf-8",
    convert: Callable[[dict], object] | None = None,
) -> Iterator[tuple[int, object]]:
    """Like :func:`iter_records`, with each line's number, and ``convert`` applied to the record.

    ``convert`` turns a record into what the reader keeps (a tuple of typed fields); when it
    raises :class:`BadValue` the line is counted in ``bad`` with the field named, like a line
    that does not parse. The number lets a reader come back for one line later (texts).
    """
    loads: Callable[[str], object] = json.loads if parse == "json" else python_literal.loads
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
        if convert is not None:
            try:
                record = convert(record)
            except BadValue as err:
                bad.bad(number, err.problem, field=err.field)
                continue
        bad.ok()
        yield number, record
    bad.finish()


class Interner:
    """String ids → dense int32 codes while streaming, back to a compact Arrow string column at the end.

    Millions of rows of 22-character Yelp ids as Python strings cost gigabytes; codes cost four
    bytes a row, and the final column is one Arrow buffer, still holding the source's own ids.
    """

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def __call__(self, key: str) -> int:
        code = self.codes.get(key)
        if code is None:
            code = self.codes[key] = len(self.codes)
        return code

    def strings(self, codes) -> pd.Series:
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        names = pa.array(list(self.codes), type=pa.string())
        return pd.Series(names.take(pa.array(np.asarray(codes, dtype=np.int32))).to_pandas(types_mapper=None), copy=False)


@dataclass
class TsvTable:
    """Rows read by :func:`read_tsv_strings`, and where they were in the file."""

    table: pa.Table
    first_line: int
    skipped: list[int]

    def line_numbers(self, rows) -> np.ndarray:
        """File line numbers of the given row indices (after the header and skipped lines)."""
        import numpy as np

        skipped = np.sort(np.asarray(self.skipped, dtype=np.int64))
        lines = np.asarray(rows, dtype=np.int64) + self.first_line
        while True:  # each skipped line at or before a row's line pushes it one further down
            moved = np.asarray(rows, dtype=np.int64) + self.first_line + np.searchsorted(skipped, lines, side="right")
            if np.array_equal(moved, lines):
                return lines
            lines = moved

    def reject(self, rows, bad: BadLines, problem: str, field: str) -> None:
        """Count rows whose ``field`` failed to convert as bad lines, naming their line numbers."""
        for row, line in zip(rows, self.line_numbers(rows)):
            bad.reject(int(line), problem.format(value=self.table.column(field)[int(row)].as_py()), field)


def read_tsv_strings(
    path: Path,
    names: list[str],
    bad: BadLines,
    *,
    encoding: str = "utf-8",
    comment: str | None = None,
) -> TsvTable:
    """A TAB-separated file with no quoting, every column a string, read by pyarrow.

    Lines with the wrong number of fields are counted in ``bad`` (Last.fm's dumps have a few),
    not fatal. ``comment``: lines starting with it are a header or remark and skipped (the
    1K profile file starts with ``#id``). Multi-GB files read at C speed; the one thing the fast
    reader cannot skip, a byte that is not ``encoding``, is a DataError naming its line.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from .textio import require_file

    require_file(path, bad.fix)
    invalid: list[tuple[int | None, int, str]] = []

    def on_invalid(row) -> str:
        if comment is not None and row.text.startswith(comment):
            return "skip"
        invalid.append((row.number, row.actual_columns, row.text[:80]))
        return "skip"

    skip = 0
    if comment is not None:
        with open(path, "rb") as fh:
            while (line := fh.readline()) and line.decode(encoding, "replace").startswith(comment):
                skip += 1
    try:
        table = pacsv.read_csv(
            path,
            pacsv.ReadOptions(column_names=names, skip_rows=skip, encoding=encoding, use_threads=False),
            pacsv.ParseOptions(delimiter="\t", quote_char=False, invalid_row_handler=on_invalid,
                               ignore_empty_lines=True),
            pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise first_undecodable_line(path, encoding, bad.fix, iter_raw_lines(path)) or DataError(
            path, f"cannot parse: {str(exc).splitlines()[0]}", fix=bad.fix
        ) from None
    bad.seen += table.num_rows
    for number, got, text in invalid:
        bad.bad(skip + number if number is not None else 0,
                f"expected {len(names)} TAB-separated fields, got {got}: {text!r}")
    bad.finish()
    if table.num_rows == 0:
        raise DataError(path, "file has no readable rows", fix=bad.fix)
    return TsvTable(table, skip + 1, [skip + n for n, _, _ in invalid if n is not None])


class LineTextStore(TextStore):
    """Review texts left on disk in a line-oriented file (JSON or Python-literal lines).

    The first pass keeps, per text, only its author, item and line number (``authors`` with a
    ``line`` column); :meth:`fetch` reads again just the lines of the pairs asked for. A 5 GB
    review file then costs memory for ids, not for prose.
    """

    def __init__(self, path: Path, authors: pd.DataFrame, text_field: str, *, parse: str = "json") -> None:
        self.path = path
        self._authors = authors.reset_index(drop=True)
        self.text_field = text_field
        self.parse = parse

    def authors(self) -> pd.DataFrame:
        return self._authors.drop(columns=["line"])

    def fetch(self, pairs: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        keys = pd.MultiIndex.from_frame(pairs[["user", "item"]])
        mine = pd.MultiIndex.from_frame(self._authors[["user", "item"]])
        wanted = self._authors.loc[mine.isin(keys), ["user", "item", "line"]].sort_values("line", kind="stable")
        by_line = {int(line): (user, item) for user, item, line in wanted.itertuples(index=False)}
        rows = []
        loads: Callable[[str], object] = json.loads if self.parse == "json" else python_literal.loads
        last = max(by_line, default=0)
        for number, raw in iter_raw_lines(self.path):
            if number > last:
                break
            if number not in by_line:
                continue
            try:
                record = loads(raw.decode("utf-8"))
                text = str(record[self.text_field])  # type: ignore[index]
            except (ValueError, SyntaxError, KeyError, TypeError, UnicodeDecodeError):
                raise DataError(
                    self.path, "line no longer parses: the file changed while the build read it",
                    line=number, field=self.text_field, fix="build again from an unchanged copy",
                ) from None
            rows.append((*by_line[number], text))
        return pd.DataFrame(rows, columns=["user", "item", "text"])


def iter_split_lines(
    path: Path, bad: BadLines, n_fields: int, *, separator: str = "\t", encoding: str = "utf-8"
) -> Iterator[tuple[int, list[str]]]:
    """Numbered lines cut into ``n_fields`` at the first ``n_fields - 1`` separators.

    For files whose last field is free text that may itself hold the separator (MicroLens
    comments); lines with too few fields or bytes that are not ``encoding`` count in ``bad``.
    """
    from .textio import require_file

    require_file(path, bad.fix)
    for number, raw in iter_raw_lines(path):
        if not raw.strip():
            continue
        try:
            text = raw.decode(encoding).rstrip("\r\n")
        except UnicodeDecodeError as err:
            bad.bad(number, f"not valid {encoding} at byte {err.start}")
            continue
        fields = text.split(separator, n_fields - 1)
        if len(fields) != n_fields:
            bad.bad(number, f"expected {n_fields} fields separated by {separator!r}, got {len(fields)}: {text[:80]!r}")
            continue
        bad.ok()
        yield number, fields
    bad.finish()


def seconds(stamps: np.ndarray) -> np.ndarray:
    """Unix times in seconds from a column that may be in milliseconds (MicroLens writes ms)."""
    import numpy as np

    stamps = np.asarray(stamps, dtype=np.int64)
    return stamps // 1000 if len(stamps) and np.median(stamps) > 100_000_000_000 else stamps


def require_complete(table: pa.Table, path: Path, fix: str, *, first_line: int = 2) -> pa.Table:
    """A DataError naming the first empty cell: pyarrow reads an empty number as null, silently."""
    for name in table.column_names:
        column = table.column(name)
        if column.null_count:
            import pyarrow.compute as pc

            row = int(pc.index(pc.is_null(column), True).as_py())
            raise DataError(path, "empty value", line=row + first_line, field=name, fix=fix)
    return table
