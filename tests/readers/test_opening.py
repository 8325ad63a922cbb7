"""The one opener: gzip told apart by content, and a truncated stream named with its last good line."""

from __future__ import annotations

import gzip

import pytest

from itdr_hf.errors import DataError
from itdr_hf.readers.opening import is_gzip, iter_raw_lines


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    lines = b"".join(b'{"n": %d}\n' % i for i in range(5))
    plain, packed = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl"  # the names lie on purpose
    plain.write_bytes(lines)
    packed.write_bytes(gzip.compress(lines))
    assert (is_gzip(plain), is_gzip(packed)) == (False, True)
    assert list(iter_raw_lines(plain)) == list(iter_raw_lines(packed)) == list(enumerate(lines.splitlines(keepends=True), 1))


def test_a_truncated_gzip_names_the_line_after_the_last_good_one(tmp_path):
    data = gzip.compress(b"".join(b"line %06d\n" % i for i in range(20000)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="ends early or is corrupt after line"):
        list(iter_raw_lines(path))
