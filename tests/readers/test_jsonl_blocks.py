"""Blocks of a compressed JSON-lines file stay near the size asked for and hold every line once, in order.

A second pass (Amazon 2023's re-read and text fetch) asks for small blocks to keep its memory low;
a fixed 4 MB compressed read inflated to blocks ~4x bigger than that (issue 15).
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from itdr_hf.readers import jsonl
from itdr_hf.readers.jsonl import iter_blocks, iter_lines_at


@pytest.fixture(scope="module")
def compressed(tmp_path_factory):
    rng = np.random.default_rng(0)
    lines = [
        json.dumps({"user_id": f"U{rng.integers(1 << 40)}", "parent_asin": f"B{rng.integers(1 << 20)}",
                    "text": "great product " * int(rng.integers(1, 40)), "rating": 5.0}).encode()
        for _ in range(40_000)
    ]
    path = tmp_path_factory.mktemp("jsonl") / "reviews.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0))
    return path, lines


@pytest.mark.parametrize("block_size", [1 << 16, 1 << 18, 1 << 20])
def test_small_blocks_stay_small_and_keep_every_line(compressed, block_size):
    path, lines = compressed
    blocks = list(iter_blocks(path, block_size))
    assert b"".join(b.data for b in blocks) == b"\n".join(lines) + b"\n"
    assert [b.first_line for b in blocks] == list(np.cumsum([1] + [b.n_lines for b in blocks[:-1]]))
    # a block is cut at the first newline once block_size bytes are pending: at most one inflated read more
    ratio = len(b"".join(b.data for b in blocks)) / path.stat().st_size
    assert max(len(b.data) for b in blocks) <= block_size + jsonl._read_size(block_size) * ratio * 1.5 + 4096
    assert len(blocks) > 1


def test_first_pass_blocks_read_as_before():
    """The 32 MB blocks of a first pass keep their 4 MB reads: its block boundaries do not move."""
    assert jsonl._read_size(jsonl.BLOCK_SIZE) == 4 << 20


def test_lines_at_small_blocks(compressed):
    path, lines = compressed
    wanted = np.array([1, 2, 17_000, 39_999, 40_000])
    assert dict(iter_lines_at(path, wanted, block_size=1 << 16)) == {int(n): lines[n - 1] for n in wanted}
