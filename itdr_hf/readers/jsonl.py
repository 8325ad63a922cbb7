"""Reading JSON-lines (and Python-literal-lines) files, plain or gzipped.

Two paths: :func:`read_jsonl` for huge files (below), and :func:`iter_numbered` line by line for
the rest, with a typed ``convert`` per record; :class:`LineTextStore` reads user-written texts
back by line number when a subtask asks for them.

Fast, bounded-memory reading of huge JSON-lines files, block by block.

Why this shape: Amazon Reviews 2023 categories are tens of GB of gzipped JSON lines. Parsing
them line by line in Python (``json.loads``) runs at ~50 MB/s; the floor is ``gzip -dc`` at a
few hundred MB/s. So a background thread inflates the file in big blocks (with ISA-L's
``isal_zlib`` when the optional ``isal`` package is installed: 2-3x faster than :mod:`zlib`,
same API; else :mod:`zlib`; both release the GIL), cut at newlines, while the main thread hands each block to
``pyarrow.json.read_json`` with an explicit schema (multithreaded C++; fields outside the
schema, nested or not, are skipped without being materialised). Only the columns asked for
ever reach Python, so memory is a few blocks plus what the caller keeps.

DuckDB's ``read_json`` was the alternative and was not needed: pyarrow is already a
dependency, meets the throughput target (see ``benchmarks/amazon_2023.py``), and parsing our
own blocks lets a failing block fall back to line-by-line parsing with exact line numbers and
the bad-line budget, instead of a whole-file error or silently ignored records.

A block that pyarrow rejects (a line that is not JSON, a field of the wrong type, bytes that
are not UTF-8, blank lines that would shift row numbers) is re-read line by line: good lines
are kept, bad ones are counted in the :class:`~itdr_hf.readers.budget.BadLines` budget with
their line number and problem. A truncated or corrupt gzip stream is a DataError naming the
file and the last complete line.
"""

from __future__ import annotations

import codecs
import json
import queue
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from ..errors import DataError
from ..tables import TextStore
from .budget import BadLines, BadValue
from .opening import is_gzip, iter_raw_lines

if TYPE_CHECKING:
    import pandas as pd

try:  # ISA-L inflates 2-3x faster than zlib, with zlib's API; optional, zlib is the fallback
    from isal import isal_zlib as _inflate_module

    _INFLATE_ERRORS: tuple[type[BaseException], ...] = (zlib.error, _inflate_module.error)
except ImportError:  # pragma: no cover - depends on the environment
    _inflate_module = zlib
    _INFLATE_ERRORS = (zlib.error,)

BLOCK_SIZE = 32 << 20

_READ_SIZE = 4 << 20
# Compressed bytes read at once are at most this fraction of the block size. A 4 MB gzip read of JSON
# lines inflates to ~16 MB, so small blocks (the second passes' 4 MB) came out ~4x their size, each
# held in several copies (pieces, joined, cut): ~180 MB resident for a pass that keeps a few rows.
_READS_PER_BLOCK = 8
_MIN_READ_SIZE = 64 << 10

_TRUNCATED_FIX = "the download is truncated or corrupt: delete the file and download it again"

@dataclass(frozen=True)
class Block:
    """Whole lines of a file; ``first_line`` is the 1-based number of the first one."""

    first_line: int
    data: bytes
    n_lines: int

def iter_blocks(path: Path, block_size: int = BLOCK_SIZE) -> Iterator[Block]:
    """Blocks of whole lines, inflated in a background thread (one block ahead)."""
    q: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(Path(path), block_size, q, stop), daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(0.05)

def _produce(path: Path, block_size: int, q: queue.Queue, stop: threading.Event) -> None:
    next_line = [1]  # read by the inflater to name the last complete line when the stream breaks
    try:
        for data in _inflated_blocks(path, block_size, lambda: next_line[0]):
            if stop.is_set():
                return
            block = Block(next_line[0], data, data.count(b"\n"))
            next_line[0] += block.n_lines
            q.put(block)
        q.put(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
        q.put(exc)

def _inflated_blocks(path: Path, block_size: int, next_line) -> Iterator[bytes]:
    gz = is_gzip(path)
    inflate = _inflate_module
    inflater = inflate.decompressobj(31) if gz else None
    pending: list[bytes] = []
    pending_size = 0
    read_size = _read_size(block_size)
    with open(path, "rb") as fh:
        while True:
            raw = fh.read(read_size)
            if not raw:
                break
            if gz:
                pieces = []
                try:
                    while raw:
                        if inflater.eof:  # concatenated gzip members are one file
                            inflater = inflate.decompressobj(31)
                        pieces.append(inflater.decompress(raw))
                        raw = inflater.unused_data if inflater.eof else b""
                except _INFLATE_ERRORS as exc:
                    raise _truncated(path, next_line() + _count(pending) + _count(pieces) - 1, str(exc)) from None
                out = b"".join(pieces)
            else:
                out = raw
            pending.append(out)
            pending_size += len(out)
            if pending_size >= block_size:
                data = b"".join(pending)
                cut = data.rfind(b"\n") + 1
                if cut:
                    yield data[:cut]
                    pending, pending_size = [data[cut:]], len(data) - cut
                else:
                    pending, pending_size = [data], len(data)
    if gz and not inflater.eof:
        raise _truncated(path, next_line() + _count(pending) - 1, "compressed stream ends early")
    tail = b"".join(pending)
    if tail:
        yield tail if tail.endswith(b"\n") else tail + b"\n"

def _read_size(block_size: int) -> int:
    """Bytes read from the file at once: the 32 MB blocks of a first pass keep their 4 MB reads; smaller
    blocks read less, so an inflated read stays near the block size asked for."""
    return min(_READ_SIZE, max(block_size // _READS_PER_BLOCK, _MIN_READ_SIZE))

def _count(pieces: list[bytes]) -> int:
    return sum(p.count(b"\n") for p in pieces)

def _truncated(path: Path, last_good: int, detail: str) -> DataError:
    return DataError(
        path,
        f"gzip stream is truncated or corrupt after line {last_good} ({detail}); lines up to {last_good} were complete",
        line=last_good + 1,
        fix=_TRUNCATED_FIX,
    )

@dataclass(frozen=True)
class Parsed:
    """The good rows of one block and the 1-based line number of each."""

    table: pa.Table
    lines: np.ndarray

def read_jsonl(
    path: Path,
    schema: pa.Schema,
    bad: BadLines,
    *,
    required: Iterable[str] = (),
    block_size: int = BLOCK_SIZE,
) -> Iterator[Parsed]:
    """Parse every block with ``schema``; rows lacking a ``required`` field (null or "") are bad lines."""
    required = tuple(required)
    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    read_options = pajson.ReadOptions(use_threads=True, block_size=1 << 22)
    empty = True
    for block in iter_blocks(path, block_size):
        parsed = _fast(block, options, read_options) or _slow(block, schema, bad)
        parsed = _drop_incomplete(parsed, required, bad)
        bad.seen += len(parsed.lines)
        empty = empty and len(parsed.lines) == 0
        yield parsed
    bad.finish()
    if empty:
        skipped = f" ({bad.count} skipped: {'; '.join(bad.examples)})" if bad.count else ""
        raise DataError(path, f"file has no records{skipped}", fix=bad.fix)

def _fast(block: Block, options: pajson.ParseOptions, read_options: pajson.ReadOptions) -> Parsed | None:
    # pyarrow neither checks UTF-8 nor keeps blank lines; both cases go line by line
    if not block.data.isascii():
        try:
            block.data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        table = pajson.read_json(pa.BufferReader(block.data), read_options=read_options, parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    n = block.n_lines
    if table.num_rows != n:
        return None
    return Parsed(table, np.arange(block.first_line, block.first_line + n, dtype=np.int64))

def _slow(block: Block, schema: pa.Schema, bad: BadLines) -> Parsed:
    rows, numbers = [], []
    for offset, raw in enumerate(block.data.split(b"\n")[:-1]):
        number = block.first_line + offset
        if not raw.strip():
            continue
        record = _record(raw, number, schema, bad)
        if record is not None:
            rows.append(record)
            numbers.append(number)
    table = _table(rows, numbers, schema, bad)
    return Parsed(table[0], np.asarray(table[1], dtype=np.int64))

def _record(raw: bytes, number: int, schema: pa.Schema, bad: BadLines) -> dict | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        bad.bad(number, f"not valid UTF-8 at byte {err.start}")
        return None
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as err:
        bad.bad(number, f"does not parse as JSON ({err})")
        return None
    if not isinstance(record, dict):
        bad.bad(number, f"is a {type(record).__name__}, not an object")
        return None
    return {name: record.get(name) for name in schema.names}

def _table(rows: list[dict], numbers: list[int], schema: pa.Schema, bad: BadLines) -> tuple[pa.Table, list[int]]:
    try:
        return pa.Table.from_pylist(rows, schema=schema), numbers
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        pass
    kept, kept_numbers = [], []
    for row, number in zip(rows, numbers):
        try:
            pa.Table.from_pylist([row], schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as err:
            field = _wrong_field(row, schema)
            bad.bad(number, f"a value has the wrong type ({str(err).splitlines()[0][:120]})", field=field)
            continue
        kept.append(row)
        kept_numbers.append(number)
    return pa.Table.from_pylist(kept, schema=schema), kept_numbers

def _wrong_field(row: dict, schema: pa.Schema) -> str | None:
    for field in schema:
        try:
            pa.array([row.get(field.name)], type=field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            return field.name
    return None

def _drop_incomplete(parsed: Parsed, required: tuple[str, ...], bad: BadLines) -> Parsed:
    if not required or parsed.table.num_rows == 0:
        return parsed
    keep = np.ones(parsed.table.num_rows, dtype=bool)
    for name in required:
        column = parsed.table.column(name)
        absent = pc.is_null(column)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            absent = pc.or_(absent, pc.fill_null(pc.equal(pc.binary_length(column), 0), True))
        missing = absent.to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(missing & keep):
            bad.bad(int(parsed.lines[i]), "missing or empty", field=name)
        keep &= ~missing
    if keep.all():
        return parsed
    return Parsed(parsed.table.filter(pa.array(keep)), parsed.lines[keep])

def iter_lines_at(path: Path, wanted: np.ndarray, block_size: int = BLOCK_SIZE) -> Iterator[tuple[int, bytes]]:
    """The raw text of the given 1-based line numbers (sorted, unique), stopping after the last."""
    wanted = np.unique(np.asarray(wanted, dtype=np.int64))
    if not len(wanted):
        return
    last = int(wanted[-1])
    for block in iter_blocks(path, block_size):
        end = block.first_line + block.n_lines
        lo, hi = np.searchsorted(wanted, [block.first_line, end])
        if hi > lo:
            lines = block.data.split(b"\n")
            for number in wanted[lo:hi]:
                yield int(number), lines[int(number) - block.first_line]
        if end > last:
            return

def iter_numbered(
    path: Path,
    bad: BadLines,
    *,
    parse: str = "json",
    required: Iterable[str] = (),
    encoding: str = "utf-8",
    convert: Callable[[dict], object] | None = None,
) -> Iterator[tuple[int, object]]:
    """Yield ``(line number, record)`` per line; undecodable, unparseable or incomplete lines count in ``bad``.

    ``parse``: ``"json"`` (JSON lines) or ``"python"`` (one Python dict literal per line, as the
    UCSD Steam files are; parsed :data:`PYTHON_BATCH` lines at a time by
    :func:`itdr_hf.sources.python_literal.loads_lines`, which gives exactly what
    :func:`ast.literal_eval` gives, faster, and never uses ``eval``).

    ``convert`` turns a record into what the reader keeps (a tuple of typed fields); when it
    raises :class:`BadValue` the line is counted in ``bad`` with the field named, like a line
    that does not parse. The number lets a reader come back for one line later (texts).
    """
    required = tuple(required)
    for number, record in _parsed_lines(path, bad, parse, encoding):
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
        loads: Callable[[str], object] = json.loads if self.parse == "json" else _python_loads()
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


PYTHON_BATCH = 256  # lines per python_literal.loads_lines call: its per-call work amortised, a bad line re-read cheaply

_UNREAD = object()


def _parsed_lines(path: Path, bad: BadLines, parse: str, encoding: str) -> Iterator[tuple[int, object]]:
    """``(line number, value)`` for every non-blank line that decodes and parses; the others count in ``bad``."""
    if parse == "python" and codecs.lookup(encoding).name == "utf-8":
        yield from _python_lines(path, bad, encoding)
        return
    loads: Callable[[str], object] = json.loads if parse == "json" else _python_loads()
    for number, raw in iter_raw_lines(path):
        if not raw.strip():
            continue
        record = _parse_line(number, raw, bad, loads, parse, encoding)
        if record is not _UNREAD:
            yield number, record


def _parse_line(number: int, raw: bytes, bad: BadLines, loads: Callable[[str], object], parse: str, encoding: str) -> object:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        bad.bad(number, f"not valid {encoding} at byte {err.start}")
        return _UNREAD
    try:
        return loads(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as err:
        bad.bad(number, f"does not parse as {'JSON' if parse == 'json' else 'a Python literal'} ({err})")
        return _UNREAD


def _python_lines(path: Path, bad: BadLines, encoding: str) -> Iterator[tuple[int, object]]:
    """_parsed_lines for Python-literal lines, :data:`PYTHON_BATCH` at a time through ``loads_lines``.

    Each line's value is the one ``loads`` gives it (``loads_lines`` leaves the lines it cannot
    vouch for to ``loads``), and lines are reported in file order, so the records, the bad-line
    counts and their messages are those of the line-by-line loop.
    """
    from ..sources.python_literal import SLOW, loads, loads_lines

    for numbers, raws in _raw_batches(path, PYTHON_BATCH):
        for number, raw, record in zip(numbers, raws, loads_lines(raws)):
            if record is SLOW:
                record = _parse_line(number, raw, bad, loads, "python", encoding)
                if record is _UNREAD:
                    continue
            yield number, record


def _raw_batches(path: Path, size: int) -> Iterator[tuple[list[int], list[bytes]]]:
    """Non-blank raw lines and their numbers, ``size`` at a time; on a truncated stream the lines
    before it come first, then the error, as line by line."""
    numbers: list[int] = []
    raws: list[bytes] = []
    try:
        for number, raw in iter_raw_lines(path):
            if not raw.strip():
                continue
            numbers.append(number)
            raws.append(raw)
            if len(raws) == size:
                yield numbers, raws
                numbers, raws = [], []
    except DataError:  # only iter_raw_lines' own: what the caller raises on a batch is not thrown in here
        if raws:
            yield numbers, raws
        raise
    if raws:
        yield numbers, raws


def _python_loads() -> Callable[[str], object]:
    """The Python-literal parser, imported on use: it lives with the Steam source, whose package imports this module."""
    from ..sources.python_literal import loads

    return loads
