"""Rows grouped by key and spilled to disk: every row comes back once, a key's rows together and in order."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from itdr_hf.errors import DataError
from itdr_hf.readers import spill
from itdr_hf.readers.spill import BUCKETS, ArrayRun, KeyGroups, string_hashes


def test_hashes_depend_on_the_string_only():
    words = ["", "a", "b", "ab", "ba", "AGKHLEW2SOWHNMFQIJGBECAF7INQ", "é", "x" * 200, "x" * 136 + "y" * 64]
    whole = string_hashes(pa.array(words * 2))
    assert np.array_equal(whole[:len(words)], whole[len(words):])
    assert len(set(whole[:len(words)].tolist())) == len(words)
    # the same strings in a slice, in chunks, with a null (hashed as ""), and as large_string
    sliced = pa.array(["pad"] + words).slice(1)
    assert np.array_equal(string_hashes(sliced), whole[:len(words)])
    chunked = pa.chunked_array([pa.array(words[:4]), pa.array(words[4:])])
    assert np.array_equal(string_hashes(chunked), whole[:len(words)])
    assert string_hashes(pa.array([None, "a"]))[0] == whole[0]
    assert np.array_equal(string_hashes(pa.array(words, type=pa.large_string())), whole[:len(words)])
    assert len(string_hashes(pa.array([], type=pa.string()))) == 0


def test_user_like_ids_spread_evenly_over_the_buckets():
    rng = np.random.default_rng(0)
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
    ids = ["A" + "".join(rng.choice(alphabet, 27)) for _ in range(20_000)]
    counts = np.bincount((string_hashes(pa.array(ids)) % np.uint64(BUCKETS)).astype(np.int64), minlength=BUCKETS)
    mean = len(ids) / BUCKETS
    assert counts.min() > 0.6 * mean and counts.max() < 1.4 * mean


def _tables(rng, n_tables=40, n_keys=300):
    out, row = [], 0
    for _ in range(n_tables):
        n = int(rng.integers(0, 60))
        keys = [f"user{k}" for k in rng.integers(0, n_keys, n)]
        out.append(pa.table({"key": pa.array(keys, type=pa.string()), "row": np.arange(row, row + n)}))
        row += n
    return out, row


@pytest.mark.parametrize("limit", [0, 10_000, 1, 37, 400])
def test_every_row_comes_back_once_with_its_keys_rows_together_in_order(tmp_path, limit):
    tables, total = _tables(np.random.default_rng(limit))
    with KeyGroups("key", limit, directory=tmp_path) as groups:
        for table in tables:
            groups.add(table)
        spilled = groups.spilled
        back = [g.to_pydict() for g in groups.groups()]
        assert spilled == (0 < limit < total)
        if spilled:
            assert list(tmp_path.iterdir())  # the spill folder while the groups are read
    assert not list(tmp_path.iterdir())  # and gone after
    rows = [r for g in back for r in g["row"]]
    assert sorted(rows) == list(range(total))
    if not spilled:
        assert len(back) == 1 and rows == list(range(total))  # one group, in the order added
        return
    key_group = {}
    for k, group in enumerate(back):
        for key in group["key"]:
            assert key_group.setdefault(key, k) == k  # a key is in one group only
        per_key = {}
        for key, row in zip(group["key"], group["row"]):
            per_key.setdefault(key, []).append(row)
        assert all(r == sorted(r) for r in per_key.values())  # a key's rows in the order added
        # a group is over the limit only when it is a single bucket
        buckets = {int(h % np.uint64(BUCKETS)) for h in string_hashes(pa.array(group["key"]))}
        assert len(group["row"]) <= limit or len(buckets) == 1


def test_the_spill_folder_goes_when_the_work_fails(tmp_path):
    tables, _ = _tables(np.random.default_rng(3))
    with pytest.raises(RuntimeError, match="stop"), KeyGroups("key", 5, directory=tmp_path) as groups:
        for table in tables:
            groups.add(table)
        assert groups.spilled
        next(groups.groups())
        raise RuntimeError("stop")
    assert not list(tmp_path.iterdir())


def test_a_full_disk_is_an_error_that_names_the_folder_and_what_to_do(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spill.ipc, "new_stream", full)
    tables, _ = _tables(np.random.default_rng(4))
    with pytest.raises(DataError) as failed, KeyGroups("key", 5, directory=tmp_path, what="the reviews of X.jsonl") as g:
        for table in tables:
            g.add(table)
    message = str(failed.value)
    assert str(tmp_path) in message and "the reviews of X.jsonl" in message and "No space left" in message
    assert "TMPDIR" in message
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_positions_in_is_index_in(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(spill, "LOOKUP_BUCKETS", int(rng.integers(1, 6)))
    pool = [f"B0{k:08d}" for k in range(60)] + ["", "é", None]
    value_set = pa.array([pool[k] for k in rng.integers(0, len(pool), 200)], type=pa.string())  # repeats: first wins
    values = pa.chunked_array([pa.array([pool[k] for k in rng.integers(0, len(pool), n)] + ["absent"], type=pa.string())
                               for n in (50, 0, 80)])
    expected = pa.compute.fill_null(pa.compute.index_in(values, value_set=value_set, skip_nulls=True), -1)
    assert np.array_equal(spill.positions_in(values, value_set), expected.to_numpy(zero_copy_only=False))
    assert (spill.positions_in(pa.array([], type=pa.string()), value_set) == 0).all()
    assert (spill.positions_in(values, pa.array([], type=pa.string())) == -1).all()


def test_a_spill_folder_that_cannot_be_made_is_an_error_that_says_what_to_do(tmp_path):
    missing = tmp_path / "no" / "such"
    tables, _ = _tables(np.random.default_rng(5))
    with pytest.raises(DataError) as failed, KeyGroups("key", 5, directory=missing, what="the reviews of X.jsonl") as g:
        for table in tables:
            g.add(table)
    assert str(missing) in str(failed.value) and "TMPDIR" in str(failed.value)


def test_a_killed_builds_spill_folder_is_removed_by_the_next_spill(tmp_path):
    """Named by process: a dead process's folder goes, a live one's (another build spilling now) stays."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"itdr-spill-{int(gone.stdout)}-abc"
    (dead / "sub").mkdir(parents=True)
    live = tmp_path / "itdr-spill-1-abc"  # pid 1 is always running
    live.mkdir()
    other = tmp_path / "itdr-spill-notapid"
    other.mkdir()
    tables, _ = _tables(np.random.default_rng(6))
    with KeyGroups("key", 5, directory=tmp_path) as groups:
        for table in tables:
            groups.add(table)
        assert groups.spilled and groups.folder.name.startswith(f"itdr-spill-{os.getpid()}-")
    assert not dead.exists() and live.exists() and other.exists()


@pytest.mark.parametrize("limit", [0, 1, 10, 25, 1000])
def test_an_array_run_hands_back_its_arrays_in_order_as_often_as_asked(tmp_path, limit):
    arrays = [pa.array([f"v{k}-{j}" for j in range(n)], type=pa.string()) for k, n in enumerate([3, 0, 7, 1, 12, 5])]
    with ArrayRun(pa.string(), limit, directory=tmp_path, what="values") as run:
        for array in arrays[:2]:
            run.add(array)
        run.add(pa.chunked_array(arrays[2:4]))
        for array in arrays[4:]:
            run.add(array)
        assert len(run) == 28
        assert run.spilled == (0 < limit < 28)
        for _ in range(2):
            back = list(run.arrays())
            assert pa.concat_arrays(back).equals(pa.concat_arrays(arrays))
            assert all(len(a) for a in back)
        if run.spilled:
            folder = run.folder
            assert folder.parent == tmp_path and folder.name.startswith(f"itdr-spill-{os.getpid()}-")
            with pytest.raises(RuntimeError, match="after being read back"):
                run.add(pa.array(["late"]))
    assert list(tmp_path.iterdir()) == []


def test_an_array_run_on_a_full_disk_is_an_error_that_names_the_folder(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with ArrayRun(pa.string(), 2, directory=tmp_path, what="the meta titles") as run:
        monkeypatch.setattr(spill.ipc, "new_stream", full)
        with pytest.raises(DataError, match="could not spill the meta titles to disk") as error:
            run.add(pa.array(["a", "b", "c"]))
        assert "itdr-spill-" in str(error.value) and "TMPDIR" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_mapped_array_reads_as_the_array_and_leaves_no_file(tmp_path):
    values = np.random.default_rng(6).integers(0, 1 << 31, 10_000).astype(np.uint32)
    assert spill.mapped(values, 0, directory=tmp_path) is values and spill.mapped(values, 10_000) is values
    got = spill.mapped(values, 100, directory=tmp_path, what="the line numbers")
    assert got is not values and not got.flags.writeable and got.dtype == values.dtype
    np.testing.assert_array_equal(got, values)
    rows = np.array([9_999, 0, 17, 17])
    np.testing.assert_array_equal(got[rows], values[rows])
    assert list(tmp_path.iterdir()) == []  # nameless: nothing to delete, even after a SIGKILL
    empty = np.zeros(0, dtype=np.uint32)
    assert spill.mapped(empty, 1, directory=tmp_path) is empty


def test_a_mapped_array_on_a_full_disk_is_an_error_that_says_what_to_do(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spill.tempfile, "TemporaryFile", full)
    with pytest.raises(DataError, match="could not spill the line numbers to disk") as error:
        spill.mapped(np.arange(10, dtype=np.uint32), 2, directory=tmp_path, what="the line numbers")
    assert str(tmp_path) in str(error.value) and "TMPDIR" in str(error.value)
