"""Rows grouped by a string key, held in memory up to a limit and past it spilled to disk by the key's hash.

Why: some work needs every row of a key together (a user's repeated reviews, their count in a
category), but a whole file's rows do not fit in memory (Amazon 2023's Home_and_Kitchen: 67M
reviews by 23M users). Rows go to one of :data:`BUCKETS` Arrow IPC files by a hash of the key,
so every row of a key is in one file and each file holds ~1/``BUCKETS`` of the rows; the files
are read back a few at a time (:meth:`KeyGroups.groups`). A file with at most ``limit`` rows never
touches the disk: its rows are one group, in their order.

The hash only decides which group a key lands in: no result may depend on it. Within a bucket
rows keep the order they were added in; groups are not in row order (callers that need it sort).
The same split serves :func:`positions_in`, a lookup over millions of ids a part at a time.
:class:`ArrayRun` is the plain case: values kept in order, on disk past a limit, read back in order.
"""

from __future__ import annotations

import mmap
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from ..errors import DataError
from ..outdir import remove_dead_folders

BUCKETS = 128
SPILL_BATCH = 1 << 18  # rows sorted into their buckets at once, once spilling has begun
# Odd 64-bit weights per byte position (mod 64): fixed, so a build spills the same rows to the same files.
_WEIGHTS = np.random.default_rng(20260512).integers(1, 1 << 63, size=64, dtype=np.uint64) | np.uint64(1)
HASH_BYTES = 1 << 20  # string bytes hashed at once: each byte costs ~40 bytes of numpy temporaries


def string_bytes(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's value offsets (int64, into the bytes) and its UTF-8 bytes, read in Arrow's own buffers.

    Other types are cast to ``string`` first. A null reads as the empty string.
    """
    if strings.type not in (pa.string(), pa.large_string()):
        strings = strings.cast(pa.string())
    large = strings.type == pa.large_string()
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64 if large else np.int32, count=len(strings) + 1,
                            offset=strings.offset * (8 if large else 4)).astype(np.int64, copy=False)
    data = strings.buffers()[2]
    return offsets, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8))


def string_hashes(strings: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash of each string, vectorised over Arrow's buffers (no Python string per row).

    A weighted byte sum mixed by splitmix64's finaliser: distinct short ids (user ids of a few
    dozen ASCII characters) spread evenly over the buckets. Nulls hash as the empty string.
    Worked on :data:`HASH_BYTES` of strings at a time, so its memory does not grow with the input.
    """
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    if strings.null_count:
        strings = pc.fill_null(strings, "")
    n = len(strings)
    offsets, raw = string_bytes(strings)
    out = np.empty(n, dtype=np.uint64)
    start = 0
    while start < n:
        end = max(int(np.searchsorted(offsets, offsets[start] + HASH_BYTES, side="right")) - 1, start + 1)
        out[start:end] = _hash_slice(raw, offsets[start:end + 1])
        start = end
    return out


def _hash_slice(raw: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    first, last = offsets[0], offsets[-1]
    starts, lengths = offsets[:-1] - first, np.diff(offsets)
    position = np.arange(last - first, dtype=np.int64)
    position -= np.repeat(starts, lengths)
    weighted = _WEIGHTS[position & 63]
    del position
    weighted *= raw[first:last]
    running = np.zeros(len(weighted) + 1, dtype=np.uint64)
    np.cumsum(weighted, out=running[1:])
    del weighted
    h = (running[starts + lengths] - running[starts]) ^ (lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def spill_folder(directory: Path | None, what: str) -> Path:
    """A new folder for this process's spilled rows, under ``directory`` or the system's temporary folder
    (``TMPDIR``); the folders of builds killed with SIGKILL are removed first (named by process id)."""
    parent = Path(directory or tempfile.gettempdir())
    try:
        remove_dead_folders(parent, "itdr-spill-")
        return Path(tempfile.mkdtemp(prefix=f"itdr-spill-{os.getpid()}-", dir=parent))
    except OSError as error:
        raise DataError(
            parent, f"could not make a folder to spill {what} to: {error}",
            fix="point TMPDIR at a writable folder with free space, or hold more in memory (a larger spill limit)",
        ) from None


def _disk_error(folder: Path, what: str, error: OSError) -> DataError:
    return DataError(
        folder, f"could not spill {what} to disk: {error}",
        fix="free disk space there, point TMPDIR at a folder with more, or hold more in memory (a larger spill limit)",
    )


class KeyGroups:
    """Tables added in order, handed back as groups that each hold every row of their keys.

    ``limit``: rows held in memory; past it every row is spilled to :data:`BUCKETS` files under a
    temporary folder (``directory``, else the system's temporary folder: ``TMPDIR``) and the
    groups are runs of consecutive buckets of at most ``limit`` rows (a bucket over it is a group
    on its own). 0: never spill. Use as a context manager: the folder is deleted on exit, whatever
    happened. ``buckets_of``: each row's bucket (0 to :data:`BUCKETS` - 1) when it is not the hash
    of the ``key`` column, e.g. ranges of a number, so that the groups come in its order.
    """

    def __init__(self, key: str, limit: int, *, directory: Path | None = None, what: str = "rows",
                 buckets_of: Callable[[pa.Table], np.ndarray] | None = None) -> None:
        self.key, self.limit, self.directory, self.what = key, limit, directory, what
        self.buckets_of = buckets_of or self._hashed
        self.held: list[pa.Table] = []
        self.held_rows = 0
        self.folder: Path | None = None
        self.writers: list[ipc.RecordBatchStreamWriter | None] = []
        self.rows = np.zeros(BUCKETS, dtype=np.int64)
        self.schema: pa.Schema | None = None

    def __enter__(self) -> KeyGroups:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def spilled(self) -> bool:
        return self.folder is not None

    def add(self, table: pa.Table) -> None:
        if not len(table):
            return
        self.schema = self.schema or table.schema
        self.held.append(table)
        self.held_rows += len(table)
        # the first spill waits for the limit (a small file never touches the disk); then a batch at a time
        if self.limit and self.held_rows > (SPILL_BATCH if self.spilled else self.limit):
            self._spill()

    def groups(self) -> Iterator[pa.Table]:
        """Every row added, a group at a time; held rows are released as they are handed out."""
        if not self.spilled:
            held, self.held, self.held_rows = self.held, [], 0
            if held:
                yield pa.concat_tables(held)
            return
        self._spill()
        for writer in self.writers:
            if writer is not None:
                writer.close()
        self.writers = []
        start = 0
        while start < BUCKETS:
            end = start + 1
            while end < BUCKETS and self.rows[start:end + 1].sum() <= self.limit:
                end += 1
            tables = [self._bucket(b) for b in range(start, end) if self.rows[b]]
            if tables:
                yield pa.concat_tables(tables)
            del tables
            start = end

    def close(self) -> None:
        for writer in self.writers:
            if writer is not None:
                try:
                    writer.close()
                except (OSError, pa.ArrowException):
                    pass
        self.writers, self.held = [], []
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def _spill(self) -> None:
        """Every held row to its bucket's file (the first time: the folder and files are made), a batch of at
        most :data:`SPILL_BATCH` rows at a time: sorting by bucket copies the rows."""
        held, self.held, self.held_rows = self.held, [], 0
        if self.folder is None:
            self.folder = spill_folder(self.directory, self.what)
            self.writers = [None] * BUCKETS
        while held:
            batch, rows = [], 0
            while held and (not batch or rows + len(held[0]) <= SPILL_BATCH):
                rows += len(held[0])
                batch.append(held.pop(0))
            self._write(pa.concat_tables(batch))
            del batch

    def _hashed(self, table: pa.Table) -> np.ndarray:
        return (string_hashes(table.column(self.key)) % np.uint64(BUCKETS)).astype(np.int64)

    def _write(self, table: pa.Table) -> None:
        bucket = np.asarray(self.buckets_of(table), dtype=np.int64)
        order = np.argsort(bucket, kind="stable")  # rows of a bucket stay in the order they were added
        bounds = np.searchsorted(bucket[order], np.arange(BUCKETS + 1))
        table = table.take(pa.array(order))
        for b in np.flatnonzero(np.diff(bounds)):
            part = table.slice(bounds[b], bounds[b + 1] - bounds[b])
            try:
                if self.writers[b] is None:
                    self.writers[b] = ipc.new_stream(str(self.folder / f"{b:03d}.arrows"), self.schema)
                self.writers[b].write_table(part)
            except OSError as error:
                raise _disk_error(self.folder, self.what, error) from None
            self.rows[b] += len(part)

    def _bucket(self, b: int) -> pa.Table:
        with pa.OSFile(str(self.folder / f"{b:03d}.arrows")) as file, ipc.open_stream(file) as reader:
            return reader.read_all()


def mapped(array: np.ndarray, limit: int, *, directory: Path | None = None, what: str = "values") -> np.ndarray:
    """``array`` itself up to ``limit`` values (0: always); past it, a read-only copy in a nameless temporary file
    mapped into memory, so that only the pages read back take this process's memory.

    Why: some columns are kept all build long for the few rows read back at its end (Amazon's review line
    numbers: 4 bytes a kept review, 0.2 GB at the paper's size, for TUI's few thousand texts). The file has no
    name (``tempfile.TemporaryFile``): it is gone with the process, even one killed with SIGKILL, and nothing is
    left to clean up. It lives under ``directory`` or ``TMPDIR``: on a disk, not a RAM-backed ``tmpfs``, for the
    memory to be saved.
    """
    if not limit or len(array) <= limit or not array.nbytes:
        return array
    parent = Path(directory or tempfile.gettempdir())
    try:
        with tempfile.TemporaryFile(dir=parent) as file:
            array.tofile(file)
            file.flush()
            view = mmap.mmap(file.fileno(), array.nbytes, access=mmap.ACCESS_READ)  # holds the file open itself
    except OSError as error:
        raise _disk_error(parent, what, error) from None
    return np.frombuffer(view, dtype=array.dtype, count=len(array))


class ArrayRun:
    """Arrow arrays of one type, handed back in the order they were added, as often as asked.

    ``limit``: values held in memory; past it every array is written, in order, to one Arrow IPC
    file in a spill folder (:func:`spill_folder`) and read back a batch at a time, so reading the
    run holds one array of it. 0: never spill. Use as a context manager: the folder is deleted on
    exit. Why: values needed twice, far apart, that only take memory in between (Amazon's meta
    titles, ~0.8 GB for the paper's 7.9M items, from the meta read to the items table).
    """

    def __init__(self, type: pa.DataType, limit: int, *, directory: Path | None = None, what: str = "values") -> None:
        self.schema = pa.schema([("value", type)])
        self.limit, self.directory, self.what = limit, directory, what
        self.held: list[pa.Array] = []
        self.rows = 0
        self.folder: Path | None = None
        self.writer: ipc.RecordBatchStreamWriter | None = None

    def __enter__(self) -> ArrayRun:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self.rows

    @property
    def spilled(self) -> bool:
        return self.folder is not None

    def add(self, array: pa.Array | pa.ChunkedArray) -> None:
        arrays = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        for part in arrays:
            if not len(part):
                continue
            if part.type != self.schema.field(0).type:
                part = part.cast(self.schema.field(0).type)
            self.rows += len(part)
            self.held.append(part)
            if self.limit and self.rows > self.limit:
                self._write()

    def arrays(self) -> Iterator[pa.Array]:
        """Every array added, in order; from the file a batch at a time once spilled."""
        if not self.spilled:
            yield from list(self.held)
            return
        if self.held:
            self._write()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        with pa.OSFile(str(self.folder / "run.arrows")) as file, ipc.open_stream(file) as reader:
            for batch in reader:
                yield batch.column(0)

    def close(self) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except (OSError, pa.ArrowException):
                pass
            self.writer = None
        self.held = []
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def _write(self) -> None:
        held, self.held = self.held, []
        if self.folder is None:
            self.folder = spill_folder(self.directory, self.what)
            try:
                self.writer = ipc.new_stream(str(self.folder / "run.arrows"), self.schema)
            except OSError as error:
                raise _disk_error(self.folder, self.what, error) from None
        if self.writer is None:
            raise RuntimeError(f"{self.what}: added to after being read back")
        try:
            for part in held:
                self.writer.write_batch(pa.record_batch([part], schema=self.schema))
        except OSError as error:
            raise _disk_error(self.folder, self.what, error) from None


LOOKUP_BUCKETS = 16


def positions_in(values: pa.Array | pa.ChunkedArray, value_set: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Each value's first position in ``value_set`` (-1: absent or null), what ``pc.index_in`` gives, in less memory.

    Arrow hashes the whole value set, ~130 bytes a value: ~1 GB for the paper's 7.9M Amazon item ids,
    on top of the tables. Split by :func:`string_hashes` into :data:`LOOKUP_BUCKETS` parts, both sides
    are matched a part at a time (equal strings hash alike), each part's table 1/16 of that.
    """
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    value_set = value_set.combine_chunks() if isinstance(value_set, pa.ChunkedArray) else value_set
    out = np.full(len(values), -1, dtype=np.int64)
    if not len(values) or not len(value_set):
        return out
    part_of_value = (string_hashes(values) % np.uint64(LOOKUP_BUCKETS)).astype(np.int8)
    part_of_set = (string_hashes(value_set) % np.uint64(LOOKUP_BUCKETS)).astype(np.int8)
    value_null = values.is_null().to_numpy(zero_copy_only=False)
    set_null = value_set.is_null().to_numpy(zero_copy_only=False)
    for part in range(LOOKUP_BUCKETS):
        wanted = np.flatnonzero((part_of_value == part) & ~value_null)
        known = np.flatnonzero((part_of_set == part) & ~set_null)
        if not len(wanted) or not len(known):
            continue
        found = pc.index_in(values.take(pa.array(wanted)), value_set=value_set.take(pa.array(known)))
        found = pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        hit = found >= 0
        out[wanted[hit]] = known[found[hit]]
    return out
