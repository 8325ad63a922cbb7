"""Reading delimited raw files with errors that name the file, line and field.

The fast path is pyarrow's multithreaded CSV reader. When it fails, the file is scanned once
more in Python to find the first offending line, so the user learns where the file is broken
without the happy path paying for line-by-line parsing.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import DataError


def require_file(path: Path, fix: str) -> Path:
    if not path.is_file():
        raise DataError(path, "file not found", fix=fix)
    if path.stat().st_size == 0:
        raise DataError(path, "file is empty", fix=fix)
    return path


def read_csv_table(
    path: Path,
    columns: dict[str, pa.DataType],
    *,
    delimiter: str = ",",
    header: bool = True,
    encoding: str = "utf8",
    fix: str = "re-download the source's files",
    block_size: int = 1 << 24,
) -> pa.Table:
    """Read a delimited file whose columns (in file order) and types are known.

    With ``header=True`` the first line must name exactly ``columns``, which catches a file of
    another source or version early, with both lists in the message.
    """
    require_file(path, fix)
    names = list(columns)
    if header:
        _check_header(path, names, delimiter, encoding)
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
        if bad_rows:
            row = bad_rows[0]
            line = (row.number + (1 if header else 0)) if row.number is not None else None
            raise DataError(
                path,
                f"expected {row.expected_columns} fields separated by {delimiter!r}, got {row.actual_columns}: {row.text[:120]!r}",
                line=line,
                fix=f"the file looks truncated or corrupted; {fix}",
            ) from None
        raise _explain(path, exc, names, delimiter, encoding, header, fix) from None
    if table.num_rows == 0:
        raise DataError(path, "file has a header but no rows", fix=fix)
    return table


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
    path: Path, exc: Exception, names: list[str], delimiter: str, encoding: str, header: bool, fix: str
) -> DataError:
    """Find the first line that breaks the file, for an error the user can act on."""
    decoder_name = codecs.lookup(encoding).name
    for number, raw in enumerate(_lines(path), start=1):
        if header and number == 1:
            continue
        try:
            text = raw.decode(decoder_name)
        except UnicodeDecodeError as err:
            return DataError(
                path,
                f"byte {raw[err.start:err.start + 1]!r} at column {err.start + 1} is not valid {encoding}",
                line=number,
                fix=f"the file must be {encoding}-encoded; {fix}",
            )
        if not text.strip():
            continue
        values = text.rstrip("\r\n").split(delimiter)
        if len(values) == len(names) and '"' not in text:
            for name, value in zip(names, values):
                if value == "":
                    return DataError(path, "empty value", line=number, field=name, fix=fix)
    message = str(exc).splitlines()[0]
    return DataError(path, f"cannot parse: {message}", fix=fix)


def _lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        yield from fh


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
