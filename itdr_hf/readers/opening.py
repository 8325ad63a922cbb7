"""Opening raw files: plain or gzipped (told apart by the gzip magic bytes, never by the name),
line by line, and the errors for files that are missing or not in the expected encoding.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC

def iter_raw_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, bytes]]:
    """Numbered raw lines; a truncated or corrupt gzip stream is a DataError naming the last good line."""
    stream = gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")
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

def require_file(path: Path, fix: str) -> Path:
    if not path.is_file():
        raise DataError(path, "file not found", fix=fix)
    if path.stat().st_size == 0:
        raise DataError(path, "file is empty", fix=fix)
    return path

def _lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        yield from fh

def decode_error(path: Path, number: int, raw: bytes, err: UnicodeDecodeError, encoding: str, fix: str) -> DataError:
    return DataError(
        path,
        f"byte {raw[err.start:err.start + 1]!r} at column {err.start + 1} is not valid {encoding}",
        line=number,
        fix=f"the file must be {encoding}-encoded; {fix}",
    )

def first_undecodable_line(
    path: Path, encoding: str, fix: str, lines: Iterable[tuple[int, bytes]] | None = None
) -> DataError | None:
    """The error for the first line that is not valid ``encoding`` (plain file lines unless ``lines`` given)."""
    decoder = codecs.lookup(encoding).name
    for number, raw in lines if lines is not None else enumerate(_lines(path), start=1):
        try:
            raw.decode(decoder)
        except UnicodeDecodeError as err:
            return decode_error(path, number, raw, err, encoding, fix)
    return None

def sniff_encoding(path: Path, fallback: str = "latin-1", sample: int = 1 << 22) -> str:
    """``utf8`` when the file's first bytes decode as UTF-8, else ``fallback``.

    Old dumps (BookCrossing) are ISO-8859-1, but re-exports on Kaggle and elsewhere are often
    UTF-8; every byte is valid ISO-8859-1, so reading a UTF-8 copy as such would silently
    garble every accented title instead of failing.
    """
    with open(path, "rb") as fh:
        head = fh.read(sample)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        cut_mid_character = len(head) == sample and err.start >= sample - 3
        return "utf8" if cut_mid_character else fallback
    return "utf8"
