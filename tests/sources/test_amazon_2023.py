"""Amazon Reviews 2023: the reader on synthetic raw files, every kind of bad input, texts, the demo build."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.errors import ConfigError, DataError
from itdr_hf.index import SourceIndex
from itdr_hf.readers.budget import BadLines
from itdr_hf.readers.jsonl import iter_blocks, iter_lines_at, read_jsonl
from itdr_hf.sources import amazon_2023
from itdr_hf.sources.amazon_2023 import Amazon2023
from itdr_hf.synthetic.amazon import write_amazon_2023

CATEGORIES = ("CDs_and_Vinyl", "Video_Games", "All_Beauty")
# These tests check every row the reader reads; the early filter, which keeps fewer, is tested on its own
# (tests/sources/test_amazon_2023_early_filter.py).
CONFIG = BuildConfig(amazon_categories=",".join(CATEGORIES), cdr_pairs="CDs_and_Vinyl<->Video_Games",
                     amazon_early_filter="off")


def make(folder: Path, compress: bool = True, n_reviews: int = 120, n_users: int = 30) -> Path:
    return write_amazon_2023(folder, categories=CATEGORIES, n_users=n_users, n_items=60, n_reviews=n_reviews, seed=1,
                             compress=compress)


@pytest.fixture
def raw(tmp_path) -> Path:
    return make(tmp_path / "amazon")


def lines_of(path: Path) -> list[bytes]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.splitlines()


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0))


def read(root: Path, config: BuildConfig = CONFIG):
    return Amazon2023().read(root, config)


def skipped(tables, name: str) -> dict:
    return next(s for s in tables.skipped_lines if s["file"].endswith(name))


def test_reviews_become_interactions_with_seconds_domains_and_raw_ids(raw):
    tables = read(raw)
    inter = tables.interactions
    records = [json.loads(line) for c in CATEGORIES for line in lines_of(raw / f"{c}.jsonl.gz")]
    assert len(inter) == len(records) > 250
    first = records[0]
    assert inter["user"].iat[0] == first["user_id"]
    assert inter["item"].iat[0] == first["parent_asin"]  # items are keyed by parent_asin, not asin
    assert inter["timestamp"].iat[0] == first["timestamp"] // 1000
    assert inter["rating"].iat[0] == pytest.approx(first["rating"])
    assert inter["rating"].dtype == np.float32 and inter["timestamp"].dtype == np.int64
    assert list(inter["domain"].cat.categories) == list(CATEGORIES)
    n_cds = len(lines_of(raw / "CDs_and_Vinyl.jsonl.gz"))
    assert (inter["domain"].astype(str).to_numpy()[:n_cds] == "CDs_and_Vinyl").all()
    assert inter["user"].dtype == "category"  # codes + one copy of each id string


def test_items_carry_meta_title_categories_details_and_domain(raw):
    tables = read(raw)
    meta = {r["parent_asin"]: r for r in map(json.loads, lines_of(raw / "meta_Video_Games.jsonl.gz"))}
    items = tables.items
    asin = next(a for a in meta if a in items.index and meta[a]["categories"])
    row = items.loc[asin]
    assert row["title"] == meta[asin]["title"]
    assert row["categories"] == meta[asin]["categories"]
    assert row["details"] == {"Brand": meta[asin]["details"]["Brand"], "Manufacturer": meta[asin]["details"]["Manufacturer"]}
    assert row["domain"] == "Video_Games"
    empty = next(a for a in meta if a in items.index and not meta[a]["categories"])
    assert items.loc[empty, "categories"] == [meta[empty]["main_category"]]  # main_category stands in
    assert set(items.index) == set(tables.interactions["item"].astype(str))


def meta_run(raw: Path, limit: int):
    """The meta files read as the reader reads them, titles into a run spilled past ``limit`` titles."""
    looks = amazon_2023._Looks()
    titles = amazon_2023.ArrayRun(pa.string(), limit, what="titles")
    metas = [amazon_2023._read_meta(raw / f"meta_{c}.jsonl.gz", CONFIG, looks, titles) for c in CATEGORIES]
    return metas, titles


def test_titled_items_are_the_same_with_titles_on_disk(raw):
    """The meta files' rows and titles line up (one title a row, in file order), and titled items do not depend
    on whether the titles were spilled to disk."""
    metas, titles = meta_run(raw, 0)
    whole = pa.concat_tables([m.table for m in metas])
    assert np.array_equal(amazon_2023._meta_codes(metas, "path"), whole.column("path").to_numpy())
    assert len(titles) == len(whole)
    titled = amazon_2023._titled_items(metas, titles)
    assert len(titled) > 7 * 3
    spilled_metas, spilled = meta_run(raw, 5)
    with spilled:
        assert spilled.spilled
        assert amazon_2023._titled_items(spilled_metas, spilled).equals(titled)
    assert not spilled.spilled  # its folder went with the run


def test_items_are_the_same_with_titles_on_disk(raw, tmp_path, monkeypatch):
    """Past ``amazon_spill_rows`` the meta titles wait on disk from the meta read to the items table and are put
    in item order a range of items at a time: the tables are the ones read with every title in memory, equal
    category lists and details dicts stay one object, and nothing is left in the spill folder's parent."""
    held = read(raw)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    spilled = read(raw, dataclasses.replace(CONFIG, amazon_spill_rows=7))
    assert len(held.items) > 7 * 3
    pd.testing.assert_frame_equal(spilled.items, held.items)
    pd.testing.assert_frame_equal(spilled.interactions, held.interactions)
    # the kept reviews' line numbers: mapped from a nameless file past the limit, the same numbers
    np.testing.assert_array_equal(spilled.texts.lines, held.texts.lines)
    assert held.texts.lines.flags.writeable and not spilled.texts.lines.flags.writeable
    assert list((tmp_path / "tmp").iterdir()) == []
    for frame in (held.items, spilled.items):
        assert len({id(c) for c in frame["categories"]}) == len({tuple(c) for c in frame["categories"]})
        assert len({id(d) for d in frame["details"]}) == len({tuple(d.items()) for d in frame["details"]})


def test_users_are_shared_across_categories(raw):
    inter = read(raw).interactions
    domains_per_user = inter.groupby("user", observed=True)["domain"].nunique()
    assert (domains_per_user >= 2).sum() >= 5
    user = domains_per_user.index[domains_per_user.to_numpy() >= 2][0]
    # one id, one user: the rows of every category point at the same category code
    rows = inter[inter["user"] == user]
    assert rows["user"].cat.codes.nunique() == 1 and rows["domain"].nunique() >= 2


def test_uncompressed_jsonl_reads_the_same(tmp_path):
    plain = read(make(tmp_path / "plain", compress=False))
    gz = read(make(tmp_path / "gz"))
    assert plain.interactions.equals(gz.interactions)
    assert plain.items.equals(gz.items)


def test_only_the_configured_categories_are_read(raw):
    tables = read(raw, BuildConfig(amazon_categories="Video_Games"))
    assert set(tables.interactions["domain"].astype(str)) == {"Video_Games"}


def test_a_missing_category_file_names_it_and_the_fix(raw):
    (raw / "meta_All_Beauty.jsonl.gz").unlink()
    with pytest.raises(DataError, match=r"meta_All_Beauty\.jsonl\.gz.*not found(.|\n)*amazon-categories"):
        read(raw)


def test_the_default_categories_are_the_papers_twelve():
    from itdr_hf.sources.amazon_2023 import PAPER_CATEGORIES, parse_categories

    assert parse_categories(BuildConfig().amazon_categories) == list(PAPER_CATEGORIES)
    assert len(PAPER_CATEGORIES) == 12
    assert {f.name for f in Amazon2023.remote} == set(Amazon2023.required_files)


def test_a_file_of_only_bad_lines_is_an_error_naming_them(raw):
    rewrite(raw / "Video_Games.jsonl.gz", [b"{oops", b"[1, 2]"])
    with pytest.raises(DataError, match=r"no records \(2 skipped: line 1: does not parse as JSON.*line 2: is a list"):
        read(raw)


def test_a_bad_category_name_is_a_config_error(raw):
    with pytest.raises(ConfigError, match="amazon_categories"):
        read(raw, BuildConfig(amazon_categories="Video Games;CDs"))


@pytest.fixture(params=["isal", "zlib"])
def inflater(request, monkeypatch):
    """Run with ISA-L (when installed) and with the plain zlib fallback."""
    import zlib

    from itdr_hf.readers import jsonl as jsonl_fast

    if request.param == "zlib":
        monkeypatch.setattr(jsonl_fast, "_inflate_module", zlib)
        monkeypatch.setattr(jsonl_fast, "_INFLATE_ERRORS", (zlib.error,))
    elif jsonl_fast._inflate_module is zlib:
        pytest.skip("isal is not installed")
    return request.param


def test_truncated_gzip_names_the_file_and_the_last_good_line(raw, inflater):
    path = raw / "Video_Games.jsonl.gz"
    data = gzip.decompress(path.read_bytes())
    cut = gzip.compress(data, mtime=0)
    path.write_bytes(cut[: len(cut) * 2 // 3])
    with pytest.raises(DataError, match=r"Video_Games\.jsonl\.gz, line (\d+): gzip stream is truncated.*after line (\d+)") as err:
        read(raw)
    last_good = int(re.search(r"after line (\d+)", str(err.value)).group(1))
    assert 0 < last_good < data.count(b"\n") and err.value.line == last_good + 1
    with gzip.open(path, "rb") as fh:  # the lines before that really are complete
        complete = fh.read(len(b"\n".join(data.split(b"\n")[:last_good])))
    assert complete.count(b"\n") == last_good - 1


def test_corrupt_gzip_data_is_an_error_too(raw, inflater):
    path = raw / "Video_Games.jsonl.gz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"Video_Games\.jsonl\.gz(.|\n)*download it again"):
        read(raw)


def test_a_line_that_is_not_json_is_skipped_and_counted(raw):
    path = raw / "Video_Games.jsonl.gz"
    lines = lines_of(path)
    lines[6] = lines[6][:40]  # cut mid-record
    rewrite(path, lines)
    tables = read(raw)
    info = skipped(tables, "Video_Games.jsonl.gz")
    assert info["skipped"] == 1 and info["read"] == len(lines)
    assert info["examples"][0].startswith("line 7: does not parse as JSON")
    assert (tables.interactions["domain"] == "Video_Games").sum() == len(lines) - 1


def test_a_users_repeated_reviews_of_an_item_count_once_at_the_earliest(raw):
    path = raw / "Video_Games.jsonl.gz"
    lines = lines_of(path)
    record = json.loads(lines[0])
    again = {**record, "timestamp": record["timestamp"] - 86_400_000, "text": "bought it again"}
    rewrite(path, [*lines, json.dumps(again).encode()])
    tables = read(raw)
    inter = tables.interactions
    rows = inter[(inter["user"] == record["user_id"]) & (inter["item"] == record["parent_asin"])]
    assert len(rows) == 1 and rows["timestamp"].iat[0] == again["timestamp"] // 1000
    texts = tables.texts.fetch(rows[["user", "item"]].astype(str))
    assert texts["text"].tolist() == ["bought it again"]


def test_a_missing_required_field_is_named(raw):
    path = raw / "CDs_and_Vinyl.jsonl.gz"
    lines = lines_of(path)
    record = json.loads(lines[2])
    del record["user_id"]
    lines[2] = json.dumps(record).encode()
    record = json.loads(lines[4])
    record["parent_asin"] = ""
    lines[4] = json.dumps(record).encode()
    rewrite(path, lines)
    info = skipped(read(raw), "CDs_and_Vinyl.jsonl.gz")
    assert info["skipped"] == 2
    assert info["examples"] == ["line 3, field 'user_id': missing or empty", "line 5, field 'parent_asin': missing or empty"]


def test_a_value_of_the_wrong_type_is_named(raw):
    path = raw / "CDs_and_Vinyl.jsonl.gz"
    lines = lines_of(path)
    record = json.loads(lines[0])
    record["timestamp"] = "yesterday"
    lines[0] = json.dumps(record).encode()
    rewrite(path, lines)
    info = skipped(read(raw), "CDs_and_Vinyl.jsonl.gz")
    assert info["skipped"] == 1 and "line 1, field 'timestamp'" in info["examples"][0]


def test_bytes_that_are_not_utf8_are_counted(raw):
    path = raw / "CDs_and_Vinyl.jsonl.gz"
    lines = lines_of(path)
    lines[9] = lines[9].replace(b'"text": "', '"text": "caf\u00e9 '.encode("latin-1"))
    rewrite(path, lines)
    info = skipped(read(raw), "CDs_and_Vinyl.jsonl.gz")
    assert info["skipped"] == 1 and info["examples"][0].startswith("line 10: not valid UTF-8")


def test_too_many_bad_lines_fail_the_build_past_the_threshold(tmp_path):
    root = make(tmp_path / "amazon", n_reviews=1500, n_users=300)
    path = root / "Video_Games.jsonl.gz"
    lines = lines_of(path)
    assert len(lines) >= 1000  # the budget is judged once 1,000 lines were read
    for i in range(0, 990, 33):  # 30 bad lines: over 0.1% (and the 10 always allowed)
        lines[i] = b"{not json"
    rewrite(path, lines)
    with pytest.raises(DataError, match=r"\d+ of \d+ lines could not be read(.|\n)*max-bad-line-fraction"):
        read(root)
    tables = read(root, BuildConfig(amazon_categories=CONFIG.amazon_categories, max_bad_line_fraction=0.05))
    assert skipped(tables, "Video_Games.jsonl.gz")["skipped"] == 30


def test_an_empty_file_is_an_error(raw):
    (raw / "Video_Games.jsonl.gz").write_bytes(gzip.compress(b"", mtime=0))
    with pytest.raises(DataError, match=r"Video_Games\.jsonl\.gz: file has no records"):
        read(raw)
    (raw / "Video_Games.jsonl.gz").write_bytes(b"")
    with pytest.raises(DataError, match="no records"):
        read(raw)


def test_concatenated_gzip_members_and_small_blocks_keep_line_numbers(tmp_path, inflater):
    lines = [json.dumps({"user_id": f"U{i}", "parent_asin": f"P{i % 7}", "rating": 5.0, "timestamp": 1000 * i}).encode()
             for i in range(1, 501)]
    lines[250] = b""  # a blank line inside a block: numbering must not shift
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines[:300]) + b"\n") + gzip.compress(b"\n".join(lines[300:]) + b"\n"))
    assert sum(b.n_lines for b in iter_blocks(path, block_size=1000)) == 500
    bad = BadLines(path, 0.01)
    from itdr_hf.sources.amazon_2023 import REVIEW_SCHEMA

    parsed = list(read_jsonl(path, REVIEW_SCHEMA, bad, block_size=1000))
    numbers = np.concatenate([p.lines for p in parsed])
    users = [u for p in parsed for u in p.table.column("user_id").to_pylist()]
    assert len(numbers) == 499 and 251 not in numbers
    assert all(u == f"U{n}" for u, n in zip(users, numbers))
    assert [n for n, _ in iter_lines_at(path, np.array([500, 3, 301]), block_size=1000)] == [3, 301, 500]
    assert dict(iter_lines_at(path, np.array([301]), block_size=1000))[301] == lines[300]


def test_texts_are_fetched_back_for_the_requested_pairs_only(raw):
    tables = read(raw)
    inter = tables.interactions
    records = [json.loads(line) for c in CATEGORIES for line in lines_of(raw / f"{c}.jsonl.gz")]
    pairs = inter.iloc[[5, len(inter) // 2, len(inter) - 3]][["user", "item"]].astype(str)
    texts = tables.texts.fetch(pairs)
    expected: dict = {}
    for r in records:  # a user may review one item twice (two variants): both texts come back
        expected.setdefault((r["user_id"], r["parent_asin"]), []).append(r["text"])
    assert set(zip(texts["user"], texts["item"])) == set(zip(pairs["user"], pairs["item"]))
    for key in set(zip(pairs["user"], pairs["item"])):
        got = texts.loc[(texts["user"] == key[0]) & (texts["item"] == key[1]), "text"].tolist()
        assert got == expected[key]
    assert list(tables.texts.authors().columns) == ["user", "item", "rating", "timestamp"]


def test_target_user_identification_is_capped_per_domain(raw):
    from itdr_hf.cells import cell_rng
    from itdr_hf.subtasks import SUBTASKS

    config = BuildConfig(amazon_categories=CONFIG.amazon_categories, cap_per_domain=2, tui_min_raters=2, tui_comments=2)
    index = SourceIndex(read(raw, config))
    examples = SUBTASKS.get("target_user_identification")().generate(
        index, config, cell_rng(config, "target_user_identification", "amazon_2023")
    )
    domains = [index.tables.items.loc[e.item_id, "domain"] for e in examples]
    assert sorted(set(domains)) == sorted(CATEGORIES)
    assert all(domains.count(d) <= 2 for d in CATEGORIES)


def test_the_demo_builds_and_every_config_loads(tmp_path):
    import datasets

    from itdr_hf import build_dataset
    from itdr_hf.pipeline import Selection

    out = tmp_path / "itdr"
    result = build_dataset(out, Selection(sources=("amazon_2023",), demo=True, strict=True), BuildConfig())
    built = {s.subtask: s.total for s in result.stats}
    assert set(built) == {"top_k_recommendation", "cross_domain_recommendation", "next_item_recommendation",
                          "target_user_identification"}
    assert all(n > 0 for n in built.values())
    for name in result.configs:
        ds = datasets.load_dataset(str(out), name)
        assert set(ds) == {"train", "validation", "test"}
        assert sum(len(ds[s]) for s in ds) == (sum(built.values()) if name == "all" else built[name])
    row = datasets.load_dataset(str(out), "cross_domain_recommendation")["train"][0]
    assert len(row["candidates"]) == 10 and row["user_id"].startswith("A") and len(row["user_id"]) == 28


def test_loose_remote_files_are_downloaded_as_is_and_linked_under_their_names(raw, tmp_path):
    import hashlib

    import datasets

    from itdr_hf.sources.base import RemoteFile

    review, meta = raw / "Video_Games.jsonl.gz", raw / "meta_Video_Games.jsonl.gz"

    class Loose(Amazon2023):
        remote = (RemoteFile("Video_Games.jsonl.gz", str(review), sha256=hashlib.sha256(review.read_bytes()).hexdigest()),
                  RemoteFile("meta_Video_Games.jsonl.gz", str(meta)))

    manager = datasets.DownloadManager(
        dataset_name="itdr", download_config=datasets.DownloadConfig(cache_dir=str(tmp_path / "cache"))
    )
    folder = Loose().locate(None, manager)
    assert sorted(p.name for p in folder.iterdir()) == ["Video_Games.jsonl.gz", "meta_Video_Games.jsonl.gz"]
    assert (folder / "Video_Games.jsonl.gz").read_bytes() == review.read_bytes()  # no unpacking
    tables = Loose().read(folder, BuildConfig(amazon_categories="Video_Games"))
    assert set(tables.interactions["domain"].astype(str)) == {"Video_Games"}

    class Corrupt(Amazon2023):
        remote = (RemoteFile("Video_Games.jsonl.gz", str(review), sha256="0" * 64),)

    with pytest.raises(DataError, match="sha256 is"):
        Corrupt().locate(None, manager)


# -- the memory-saving reader gives the rows of the plain one ---------------------------------

DEMO_READ_SHA256 = "943d378133b8550e630569d27477be4f66b047e5f3ce9987348a0f560cac178f"  # before the block encoder


def _reference_rows(root: Path) -> list[tuple]:
    """What the reader must return, by the plainest means: every line through json.loads, a
    user's repeats of an item reduced to the earliest (ties: the first in the file)."""
    rows = []
    for category in CATEGORIES:
        best: dict = {}
        for number, line in enumerate(lines_of(root / f"{category}.jsonl.gz"), 1):
            r = json.loads(line)
            row = (r["user_id"], r["parent_asin"], float(r["rating"]), r["timestamp"] // 1000, category, number)
            key = row[:2]
            if key not in best or row[3] < best[key][3]:
                best[key] = row
        rows += sorted(best.values(), key=lambda row: row[5])
    return rows


def test_block_encoding_and_repeat_removal_match_a_plain_reader(tmp_path, monkeypatch):
    import functools

    import itdr_hf.sources.amazon_2023 as amazon

    root = make(tmp_path / "amazon", n_reviews=400, n_users=40)
    path = root / "Video_Games.jsonl.gz"
    lines = lines_of(path)
    repeats = []
    for k, shift in enumerate((-5000, 0, 7000, -5000, 0)):  # earlier, same time (file order wins), later
        record = json.loads(lines[3 + 40 * k])
        record["timestamp"] += shift * 1000
        record["text"] = f"repeat {k}"
        repeats.append(json.dumps(record).encode())
    rewrite(path, lines[:100] + repeats[:2] + lines[100:300] + repeats[2:] + lines[300:])
    # blocks of a few lines each: ids are encoded per block and merged
    monkeypatch.setattr(amazon, "read_jsonl", functools.partial(read_jsonl, block_size=2000))
    tables = read(root)
    inter = tables.interactions
    got = list(zip(inter["user"].tolist(), inter["item"].tolist(), inter["rating"].astype(float).tolist(),
                   inter["timestamp"].tolist(), inter["domain"].astype(str).tolist(), tables.texts.lines.tolist()))
    expected = _reference_rows(root)
    assert got == expected
    assert len(expected) < sum(len(lines_of(root / f"{c}.jsonl.gz")) for c in CATEGORIES)  # repeats were dropped
    # the texts read back are those of the kept lines
    pairs = inter[["user", "item"]].iloc[::7].astype(str).reset_index(drop=True)
    fetched = tables.texts.fetch(pairs)
    raw_lines = {c: lines_of(root / f"{c}.jsonl.gz") for c in CATEGORIES}
    kept = {(u, i): json.loads(raw_lines[c][n - 1])["text"] for u, i, _, _, c, n in expected}
    assert len(fetched) == len(pairs)
    for user, item, text in fetched.itertuples(index=False):
        assert text == " ".join(re.sub(r"<br\s*/?>", " ", kept[(user, item)], flags=re.IGNORECASE).split())


def test_demo_read_is_unchanged_by_the_memory_work():
    import hashlib

    from itdr_hf.pipeline import demo_dir

    tables = Amazon2023().read(demo_dir() / "amazon_2023", BuildConfig(amazon_early_filter="off"))
    inter = tables.interactions
    digest = hashlib.sha256()
    for column in ("user", "item", "domain"):
        digest.update("\x1f".join(map(str, inter[column].tolist())).encode())
    digest.update(inter["rating"].to_numpy().tobytes())
    digest.update(inter["timestamp"].to_numpy().tobytes())
    digest.update(np.asarray(tables.texts.lines, dtype=np.int64).tobytes())
    assert digest.hexdigest() == DEMO_READ_SHA256
