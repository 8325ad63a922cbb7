"""Reading delimited raw files (CSV, TSV, ``::``-separated) with errors that name the file, line and field.

The fast path is pyarrow's multithreaded CSV reader. When it fails, the file is scanned once
more in Python to find the first offending line, so the user learns where the file is broken
without the happy path paying for line-by-line parsing. Lines that cannot be read count in the
:class:`~itdr_hf.readers.budget.BadLines` budget.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import DataError
from .budget import BadLines
from .opening import _lines, decode_error, first_undecodable_line, iter_raw_lines, require_file


def read_csv_table(
    path: Path,
    columns: dict[str, pa.DataType],
    *,
    delimiter: str = ",",
    header: bool = True,
    encoding: str = "utf8",
    fix: str = "re-download the source's files",
    block_size: int = 1 << 24,
    bad: BadLines | None = None,
    required: tuple[str, ...] = (),
) -> pa.Table:
    """Read a delimited file whose columns (in file order) and types are known.

    With ``header=True`` the first line must name exactly ``columns``, which catches a file of
    another source or version early, with both lists in the message.

    ``bad``: count malformed rows (wrong field count, an empty or unconvertible number) in this
    budget and drop them, instead of failing on the first. An empty id must never reach the
    caller as a null: pyarrow would hand numpy the whole column as floats ('2492' → '2492.0').
    ``required``: string columns (ids read as text) whose empty cells also make a row bad.
    """
    require_file(path, fix)
    names = list(columns)
    if header:
        _check_header(path, names, delimiter, encoding)
    if bad is not None:
        return _read_csv_counting(path, columns, delimiter, header, encoding, fix, block_size, bad, required)
    bad_rows: list = []

    def on_invalid(row) -> str:
        bad_rows.append(row)
        return "error"

    read_options = pacsv.ReadOptions(
        column_names=names, skip_rows=1 if header else 0, encoding=encoding, block_size=block_size
    )
    parse_options = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid)
    convert_options = pacsv.ConvertOptions(column_types=columns, strings_can_be_null=False)
    try:
        table = pacsv.read_csv(path, read_options, parse_options, convert_options)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if bad_rows and bad_rows[0].number is not None:
            row = bad_rows[0]
            line = (row.number + (1 if header else 0)) if row.number is not None else None
            raise DataError(
                path,
                f"expected {row.expected_columns} fields separated by {delimiter!r}, got {row.actual_columns}: {row.text[:120]!r}",
                line=line,
                fix=f"the file looks truncated or corrupted; {fix}",
            ) from None
        raise _explain(path, exc, columns, delimiter, encoding, header, fix) from None
    if table.num_rows == 0:
        raise DataError(path, "file has a header but no rows", fix=fix)
    return table

_NUMBER_PATTERNS = {
    "int": r"^-?\d+$",
    "float": r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$",
}

def _read_csv_counting(
    path: Path, columns: dict[str, pa.DataType], delimiter: str, header: bool, encoding: str, fix: str,
    block_size: int, bad: BadLines, required: tuple[str, ...] = (),
) -> pa.Table:
    """:func:`read_csv_table` where each malformed row is a counted bad line, dropped.

    The typed read is tried first (the common, clean case costs nothing more); only when a
    value does not convert is the file read again as strings to find and drop the bad rows.
    Row ``i`` is taken to be file line ``i + 1 (+1 for the header)``: these files have no
    quoted line breaks.
    """
    import pyarrow.compute as pc

    names = list(columns)
    first_line = 2 if header else 1
    invalid: list[tuple[int | None, int, str]] = []

    def on_invalid(row) -> str:
        invalid.append((row.number, row.actual_columns, row.text[:120]))
        return "skip"

    def read(types: dict[str, pa.DataType]) -> pa.Table:
        invalid.clear()
        return pacsv.read_csv(
            path,
            pacsv.ReadOptions(column_names=names, skip_rows=1 if header else 0, encoding=encoding, block_size=block_size),
            pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )

    try:
        try:
            table = read(columns)
            valid = None
        except pa.ArrowInvalid:
            table = read({n: pa.string() for n in names})
            valid = _valid_numbers(table, columns)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _explain(path, exc, columns, delimiter, encoding, header, fix) from None
    if any(number is None for number, _, _ in invalid):  # the threaded reader does not number rows
        invalid[:] = _number_rows(path, invalid, encoding, first_line)
    for number, got, text in invalid:
        bad.bad(number + first_line - 1 if number is not None else 0,
                f"expected {len(names)} fields separated by {delimiter!r}, got {got}: {text!r}")
    problems = _row_problems(table, columns, valid, required)
    bad.seen += table.num_rows - len(problems)
    skipped = sorted(n for n, _, _ in invalid if n is not None)
    for row, field, value in problems:
        data_row = row + 1  # 1-based among the rows read; each skipped row before it pushes it down
        for n in skipped:
            data_row += n <= data_row
        bad.bad(data_row + first_line - 1,
                "empty value" if value == "" or value is None else f"{value!r} is not a valid {columns[field]}", field)
    bad.finish()
    if problems:
        keep = pc.invert(pa.array(np.isin(np.arange(table.num_rows), [r for r, _, _ in problems])))
        table = table.filter(keep)
    if valid is not None:
        table = table.cast(pa.schema([(n, columns[n]) for n in names]))
    if table.num_rows == 0:
        readable = "readable " if problems or invalid else ""
        raise DataError(path, f"file has {'a header but ' if header else ''}no {readable}rows", fix=fix)
    return table

def _number_rows(path: Path, invalid: list, encoding: str, first_line: int) -> list:
    """Find the data-row numbers of malformed rows by their text (a rare, slow path: one scan)."""
    wanted: dict[str, list[int]] = {}
    for i, (_, _, text) in enumerate(invalid):
        wanted.setdefault(text, []).append(i)
    numbered = list(invalid)
    decoder = codecs.lookup(encoding).name
    for number, raw in enumerate(_lines(path), start=1):
        text = raw.decode(decoder, "replace").rstrip("\r\n")[:120]
        if wanted.get(text):
            i = wanted[text].pop(0)
            numbered[i] = (number - first_line + 1, numbered[i][1], numbered[i][2])
    return sorted(numbered, key=lambda r: (r[0] is None, r[0] or 0))

def _valid_numbers(table: pa.Table, columns: dict[str, pa.DataType], *, trim: bool = False) -> dict[str, pa.Array]:
    """Per numeric column, which string cells convert (empty ones do not)."""
    import pyarrow.compute as pc

    out = {}
    for name, kind in columns.items():
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            pattern = _NUMBER_PATTERNS["int" if pa.types.is_integer(kind) else "float"]
            column = pc.utf8_trim_whitespace(table.column(name)) if trim else table.column(name)
            out[name] = pc.match_substring_regex(column, pattern)
    return out

def drop_unreadable_rows(
    table: pa.Table, columns: dict[str, pa.DataType], bad: BadLines, *, first_line: int | None = None
) -> pa.Table:
    """Drop the rows of a string table (:func:`read_csv_strings`) whose ``columns`` are empty or not
    numbers of their kind (string kinds: empty only), each counted in ``bad`` as a rejected line.

    For ids above all: a row without its user or item cannot be kept, and must cost the build
    one counted line, not the whole run (nor, read as a null, every other id's form).
    ``first_line``: the file line of the first row, or None to name data rows.
    """
    import pyarrow.compute as pc

    strings = tuple(n for n, k in columns.items() if pa.types.is_string(k))
    problems = _row_problems(table, columns, _valid_numbers(table, columns, trim=True), strings)
    for row, field, value in problems:
        problem = "empty value" if not str(value).strip() else f"{value!r} is not a valid {columns[field]}"
        if first_line is None:
            bad.reject(None, problem, field, row=row + 1)
        else:
            bad.reject(row + first_line, problem, field)
    bad.finish()
    if not problems:
        return table
    return table.filter(pc.invert(pa.array(np.isin(np.arange(table.num_rows), [r for r, _, _ in problems]))))

def _row_problems(
    table: pa.Table, columns: dict[str, pa.DataType], valid, required: tuple[str, ...] = ()
) -> list[tuple[int, str, object]]:
    """(row, first bad field, its value) for each row with an empty or unconvertible number, or an
    empty required string, in row order."""
    import pyarrow.compute as pc

    first: dict[int, tuple[str, object]] = {}
    for name, kind in columns.items():
        column = table.column(name)
        if pa.types.is_string(kind) and name not in required:
            continue
        if pa.types.is_string(kind):
            broken = pc.equal(pc.utf8_trim_whitespace(column), "")
        else:
            broken = pc.invert(valid[name]) if valid is not None else pc.is_null(column)
        if not pc.any(broken).as_py():
            continue
        rows = np.flatnonzero(broken.to_numpy(zero_copy_only=False))
        for row in rows.tolist():
            first.setdefault(row, (name, column[row].as_py()))
    return [(row, *first[row]) for row in sorted(first)]

def _check_header(path: Path, names: list[str], delimiter: str, encoding: str) -> None:
    with open(path, "rb") as fh:
        first = fh.readline()
    try:
        text = first.decode(encoding).strip().lstrip("\ufeff")
    except UnicodeDecodeError:
        raise DataError(path, f"header is not valid {encoding}", line=1) from None
    found = [c.strip().strip('"') for c in text.split(delimiter)]
    if found != names:
        raise DataError(
            path,
            f"unexpected header {found}; expected {names}",
            line=1,
            fix="point the data directory at the source's original files",
        )

def _explain(
    path: Path, exc: Exception, columns: dict[str, pa.DataType], delimiter: str, encoding: str, header: bool, fix: str
) -> DataError:
    """Find the first line that breaks the file, for an error the user can act on."""
    names = list(columns)
    decoder_name = codecs.lookup(encoding).name
    for number, raw in enumerate(_lines(path), start=1):
        if header and number == 1:
            continue
        try:
            text = raw.decode(decoder_name)
        except UnicodeDecodeError as err:
            return decode_error(path, number, raw, err, encoding, fix)
        if not text.strip():
            continue
        values = next(csv.reader([text.rstrip("\r\n")], delimiter=delimiter))
        if len(values) != len(names):
            return DataError(
                path,
                f"expected {len(names)} fields separated by {delimiter!r}, got {len(values)}: {text.strip()[:120]!r}",
                line=number,
                fix=f"the file looks truncated or corrupted; {fix}",
            )
        for name, value in zip(names, values):
            kind = columns[name]
            if value == "" and not pa.types.is_string(kind):
                return DataError(path, "empty value", line=number, field=name, fix=fix)
            if not _fits(value, kind):
                return DataError(path, f"{value!r} is not a valid {kind}", line=number, field=name, fix=fix)
    message = str(exc).splitlines()[0]
    return DataError(path, f"cannot parse: {message}", fix=fix)

def _fits(value: str, kind: pa.DataType) -> bool:
    try:
        if pa.types.is_integer(kind):
            int(value)
        elif pa.types.is_floating(kind):
            float(value)
    except ValueError:
        return False
    return True

def read_separated_lines(
    path: Path,
    separator: str,
    field_names: list[str],
    *,
    encoding: str,
    fix: str,
) -> list[list[str]]:
    """Read a file of ``separator``-joined fields with no quoting (MovieLens 1M's ``::``)."""
    require_file(path, fix)
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataError(path, f"not valid {encoding}", line=line, fix=fix) from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue
        values = line.split(separator)
        if len(values) != len(field_names):
            raise DataError(
                path,
                f"expected {len(field_names)} fields ({separator.join(field_names)}), got {len(values)}: {line[:120]!r}",
                line=number,
                fix=f"the file looks truncated or corrupted; {fix}",
            )
        rows.append(values)
    if not rows:
        raise DataError(path, "file has no rows", fix=fix)
    return rows

def read_csv_strings(
    path: Path,
    names: list[str],
    bad: BadLines,
    *,
    delimiter: str = ",",
    encoding: str = "utf8",
    include: list[str] | None = None,
    escape_char: str | bool = False,
    newlines_in_values: bool = False,
) -> pa.Table:
    """A quoted CSV with a header, every column a string; malformed rows are counted, not fatal.

    For the Kaggle dumps (BookCrossing, Anime 2023, Amazon Books), which are large, scraped and
    carry a few broken rows: a row with the wrong field count goes into the ``bad`` budget
    (:class:`~itdr_hf.sources.lines.BadLines`), which fails the build only past
    ``max_bad_line_fraction``. Columns stay strings so the caller converts them with errors
    that name the field; ``include`` keeps only the columns it needs in memory.
    ``newlines_in_values`` allows quoted line breaks (review texts, synopses); ``escape_char``
    handles the MySQL-style ``\\"`` of the BookCrossing dump.
    """
    require_file(path, bad.fix)
    _check_header(path, names, delimiter, encoding)
    invalid: list[tuple[int | None, int, str]] = []

    def on_invalid(row) -> str:
        invalid.append((row.number, row.actual_columns, row.text[:120]))
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=encoding, block_size=1 << 24),
            pacsv.ParseOptions(
                delimiter=delimiter, escape_char=escape_char, newlines_in_values=newlines_in_values,
                invalid_row_handler=on_invalid, ignore_empty_lines=True,
            ),
            pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                include_columns=include or names,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise first_undecodable_line(path, encoding, bad.fix) or DataError(
            path, f"cannot parse: {str(exc).splitlines()[0]}", fix=bad.fix
        ) from None
    bad.seen += table.num_rows
    for number, got, text in invalid:
        where = number + 1 if number is not None and not newlines_in_values else 0
        bad.bad(where, f"expected {len(names)} fields separated by {delimiter!r}, got {got}: {text!r}")
    bad.finish()
    if table.num_rows == 0:
        raise DataError(path, "file has a header but no readable rows", fix=bad.fix)
    return table

def parse_numbers(
    values: pa.ChunkedArray | pa.Array,
    path: Path,
    field: str,
    fix: str,
    *,
    kind: pa.DataType = pa.int64(),
    empty: float | None = None,
    null: tuple[str, ...] = (),
    first_line: int | None = 2,
) -> pa.Array:
    """Cast a string column read by :func:`read_csv_strings`; the first bad value is a DataError.

    ``empty``: the value an empty cell (or one of ``null``, e.g. ``NULL``) becomes; None makes it
    an error. ``first_line``: the file line of the first row, to name the bad one (None where
    quoted line breaks make rows and lines differ: the error then names the row).
    """
    import numpy as np
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(values)
    missing = pc.equal(text, "")
    for token in null:
        missing = pc.or_(missing, pc.equal(text, token))
    as_float = pa.types.is_floating(kind)
    filled = pc.if_else(missing, "0", text) if empty is not None else text
    try:
        parsed = pc.cast(filled, pa.float64() if as_float else pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raw = np.asarray(filled.to_pylist() if hasattr(filled, "to_pylist") else filled, dtype=object)
        for index, value in enumerate(raw):
            try:
                float(value) if as_float else int(value)
            except (TypeError, ValueError):
                where = {"line": first_line + index} if first_line is not None else {}
                problem = f"{value!r} is not a {'number' if as_float else 'whole number'}"
                if first_line is None:
                    problem = f"data row {index + 1}: {problem}"
                raise DataError(path, problem, field=field, fix=fix, **where) from None
        raise
    if empty is not None:
        parsed = pc.if_else(missing, pa.scalar(empty, pa.float64() if as_float else pa.int64()), parsed)
    return parsed.cast(kind) if not isinstance(parsed, pa.ChunkedArray) else parsed.cast(kind).combine_chunks()

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

def iter_split_lines(
    path: Path, bad: BadLines, n_fields: int, *, separator: str = "\t", encoding: str = "utf-8"
) -> Iterator[tuple[int, list[str]]]:
    """Numbered lines cut into ``n_fields`` at the first ``n_fields - 1`` separators.

    For files whose last field is free text that may itself hold the separator (MicroLens
    comments); lines with too few fields or bytes that are not ``encoding`` count in ``bad``.
    """
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
