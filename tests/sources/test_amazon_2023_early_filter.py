"""Amazon Reviews 2023's early filter: sparse users' reviews dropped at read time, the cells unchanged.

The filter is only worth having if it is exact, so every test compares against a read that keeps
every review (``amazon_early_filter="off"``): the cells' rows, the all-row counts the index and
target user identification use, and the report.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from itdr_hf.cells import make_cell
from itdr_hf.config import BuildConfig
from itdr_hf.index import SourceIndex
from itdr_hf.pipeline import demo_dir, source_report
from itdr_hf.sources.amazon_2023 import Amazon2023, early_filter_minimum
from itdr_hf.subtasks import SUBTASKS, Subtask
from itdr_hf.subtasks.target_user_identification import _writers
from itdr_hf.synthetic.amazon import write_amazon_2023

CATEGORIES = ("CDs_and_Vinyl", "Video_Games", "All_Beauty")
AMAZON_CELLS = ("top_k_recommendation", "cross_domain_recommendation", "next_item_recommendation",
                "target_user_identification")
BASE = {"amazon_categories": ",".join(CATEGORIES), "cdr_pairs": "CDs_and_Vinyl<->Video_Games,All_Beauty->Video_Games"}
CONFIGS = {
    "defaults": BuildConfig(**BASE),
    # caps that bite (seeded draws over the eligible users and items) and popularity-weighted negatives
    "capped": BuildConfig(**BASE, cap_per_domain=4, tui_comments=2, tui_min_raters=3, negative_sampling="popularity"),
}


def lines_of(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).splitlines()


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0))


@pytest.fixture(scope="module")
def sparse(tmp_path_factory) -> Path:
    """Many users with a few reviews each (most rows dropped), plus what could break exactness: items
    reviewed in two categories (the same user and item in both files), titles that clean to nothing."""
    root = write_amazon_2023(tmp_path_factory.mktemp("amazon"), categories=CATEGORIES, n_users=300, n_items=40,
                             n_reviews=900, seed=2)
    cds, games = lines_of(root / "CDs_and_Vinyl.jsonl.gz"), lines_of(root / "Video_Games.jsonl.gz")
    moved = []
    for k, line in enumerate(cds[::9]):  # CDs reviews again in Video_Games: some one day later, some the same
        record = json.loads(line)
        record["timestamp"] += 86_400_000 * (k % 2)
        record["text"] = f"again in games {k}"
        moved.append(json.dumps(record).encode())
    rewrite(root / "Video_Games.jsonl.gz", games[:50] + moved + games[50:])
    meta_path = root / "meta_All_Beauty.jsonl.gz"
    meta = [json.loads(line) for line in lines_of(meta_path)]
    for record, title in zip(meta[::7], ("&#8203;", "   ", None, "")):  # a zero-width space cleans to nothing
        record["title"] = title
    rewrite(meta_path, [json.dumps(r).encode() for r in meta])
    return root


def index_of(root: Path, config: BuildConfig, early_filter: str) -> SourceIndex:
    return SourceIndex(Amazon2023().read(root, BuildConfig(**{**config.to_dict(), "amazon_early_filter": early_filter})))


def cells_json(index: SourceIndex, config: BuildConfig) -> dict[str, str]:
    out = {}
    for subtask in AMAZON_CELLS:
        reason = SUBTASKS.get(subtask)().unsupported(index)
        out[subtask] = reason or json.dumps(make_cell(subtask, index, config).rows, sort_keys=True)
    return out


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_the_amazon_cells_are_byte_identical_with_the_filter_on_the_sparse_data(sparse, name):
    config = CONFIGS[name]
    on, off = index_of(sparse, config, "auto"), index_of(sparse, config, "off")
    assert on.tables.all_rows.dropped > 0.5 * len(off.tables.interactions)  # most rows go
    assert len(on.tables.interactions) == len(off.tables.interactions) - on.tables.all_rows.dropped
    built = cells_json(on, config)
    assert built == cells_json(off, config)
    assert all(json.loads(rows)["train"] for rows in built.values())  # every cell has examples


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_the_amazon_cells_are_byte_identical_with_the_filter_on_the_demo(name):
    config = BuildConfig(**{**CONFIGS[name].to_dict(), "amazon_categories": BuildConfig().amazon_categories,
                            "cdr_pairs": BuildConfig().cdr_pairs})
    root = demo_dir() / "amazon_2023"
    on = index_of(root, config, "auto")
    assert on.tables.all_rows.dropped > 0
    assert cells_json(on, config) == cells_json(index_of(root, config, "off"), config)


def test_when_every_row_is_dropped_the_cells_still_match(sparse):
    """Nobody reaches the minimums: the kept rows are empty, yet CDR must still see users in two domains
    (so it is tried, not skipped for a different reason) and TUI must build from the rows it reads again."""
    config = BuildConfig(**BASE, tkr_history=200, nir_history=200, cdr_history=200)
    on = index_of(sparse, config, "auto")
    assert len(on.tables.interactions) == 0 and not on.tables.texts.empty
    built = cells_json(on, config)
    assert built == cells_json(index_of(sparse, config, "off"), config)
    assert json.loads(built["target_user_identification"])["train"]


def test_the_all_row_counts_are_those_of_every_row(sparse):
    config = CONFIGS["defaults"]
    on, off = index_of(sparse, config, "auto"), index_of(sparse, config, "off")
    all_rows, inter = on.tables.all_rows, off.tables.interactions
    counts = all_rows.counts.groupby(["domain", "item"], observed=True)["rows"].sum()
    assert counts.to_dict() == inter.groupby(["domain", "item"], observed=True).size().to_dict()
    shared = inter.groupby("item", observed=True)["domain"].nunique()
    assert (shared > 1).sum() >= 5  # the exact writer count of items in two categories is exercised
    assert all_rows.writers.to_dict() == _writers(off.tables.texts.authors()).to_dict()
    np.testing.assert_array_equal(on.item_pool, off.item_pool)
    np.testing.assert_array_equal(on.item_popularity, off.item_popularity)
    assert on.domains == off.domains == sorted(CATEGORIES)
    assert len(off.item_pool) < inter["item"].nunique()  # untitled items are counted, but not pooled
    for domain in on.domains:
        for mode in ("uniform", "popularity"):
            for got, want in zip(on.domain_view(domain)._domain_pool(domain, mode), off._domain_pool(domain, mode)):
                np.testing.assert_array_equal(got, want)
        view_on, view_off = on.domain_view(domain), off.domain_view(domain)
        np.testing.assert_array_equal(view_on.item_pool, view_off.item_pool)
        np.testing.assert_array_equal(view_on.item_popularity, view_off.item_popularity)
        assert view_on.domains == [domain]


def test_rows_of_reads_every_row_of_the_items_again_as_the_first_pass_kept_them(sparse):
    config = CONFIGS["defaults"]
    on, off = index_of(sparse, config, "auto"), index_of(sparse, config, "off")
    items = off.item_pool[::3]
    got = on.item_rows(items)
    want = off.item_rows(items)
    columns = ["user", "item", "rating", "timestamp", "domain"]
    assert len(want) and got[columns].astype(str).values.tolist() == want[columns].astype(str).values.tolist()
    lines = off.tables.texts.lines[want.index.to_numpy()]
    np.testing.assert_array_equal(got["line"].to_numpy(), lines)
    pairs = want[["user", "item"]].astype(str).drop_duplicates().reset_index(drop=True)
    assert on.tables.texts.fetch(pairs).equals(off.tables.texts.fetch(pairs))


def test_users_in_two_domains_counts_every_row(sparse):
    on = index_of(sparse, CONFIGS["defaults"], "auto")
    all_rows = on.tables.all_rows
    assert all_rows.users_in_two_domains(on.item_pool)
    only_beauty = on.domain_view("All_Beauty").item_pool
    assert not all_rows.users_in_two_domains(only_beauty[~np.isin(only_beauty, on.domain_view("Video_Games").item_pool)])


def test_the_report_counts_every_row_read_and_the_rows_dropped(sparse):
    config = CONFIGS["defaults"]
    on, off = index_of(sparse, config, "auto"), index_of(sparse, config, "off")
    report = source_report(Amazon2023(), sparse, on, config)
    assert report["interactions"] == len(off.tables.interactions)
    assert report["dropped_early"]["rows"] == len(off.tables.interactions) - len(on.tables.interactions) > 0
    assert "fewer than 5 titled reviews" in report["dropped_early"]["reason"]
    assert "dropped_early" not in source_report(Amazon2023(), sparse, off, config)


def test_the_minimum_is_the_least_any_user_history_cell_needs_and_zero_where_not_exact():
    assert early_filter_minimum(BuildConfig()) == 5  # CDR's 5 source-domain items; TKR needs 10, NIR 6
    assert early_filter_minimum(BuildConfig(cdr_history=8, nir_history=9)) == 8
    assert early_filter_minimum(BuildConfig(cdr_history=8)) == 6
    for exception in ({"amazon_early_filter": "off"}, {"cap_per_domain": 0}, {"tui_evidence": "raters"}):
        assert early_filter_minimum(BuildConfig(**exception)) == 0


def test_a_further_subtask_built_from_amazon_turns_the_filter_off():
    class Extra(Subtask):
        name = "extra_amazon_subtask"
        abbr = "EXT"
        root = "UII"
        title = "Extra"
        answer = "text"
        sources = ("amazon_2023",)

    SUBTASKS.register(Extra)
    try:
        assert early_filter_minimum(BuildConfig()) == 0
    finally:
        SUBTASKS.unregister(Extra.name)
    assert early_filter_minimum(BuildConfig()) == 5


def test_the_filter_keeps_whole_user_histories_in_a_category(sparse):
    """A kept user keeps every review in the category; a dropped one has fewer titled reviews than the minimum."""
    config = CONFIGS["defaults"]
    on, off = index_of(sparse, config, "auto"), index_of(sparse, config, "off")
    titled = off.titled_interactions
    per = titled.groupby(["user", "domain"], observed=True).size()
    kept = on.tables.interactions.groupby(["user", "domain"], observed=True).size()
    every = off.tables.interactions.groupby(["user", "domain"], observed=True).size()
    assert (per.reindex(kept.index).to_numpy() >= 5).all()
    assert kept.to_dict() == every.reindex(kept.index).to_dict()
    assert pd.Index(per.index[per.to_numpy() >= 5]).isin(kept.index).all()


# The read a group of users at a time (``amazon_spill_rows``): a category past the limit goes to disk
# by user and comes back in groups; nothing built may depend on how the users were grouped.


def _tables_json(tables) -> str:
    inter = tables.interactions
    parts = {
        "interactions": inter.astype({c: str for c in ("user", "item", "domain")}).to_json(orient="split"),
        "lines": tables.texts.lines.tolist(),
        "items": tables.items.reset_index().astype({"domain": str}).to_json(orient="split"),
        "skipped": tables.skipped_lines,
    }
    if tables.all_rows is not None:
        rows = tables.all_rows
        parts["all_rows"] = [rows.read, rows.dropped, rows.counts.astype(str).to_json(orient="split"),
                             rows.writers.to_json(orient="split")]
    return json.dumps(parts, sort_keys=True)


@pytest.mark.parametrize("early_filter", ["auto", "off"])
def test_the_read_is_the_same_however_many_reviews_are_held_before_spilling(sparse, monkeypatch, early_filter):
    from itdr_hf.readers import spill

    spilled = []
    original = spill.KeyGroups.groups

    def groups(self):
        if self.what.startswith("the reviews"):  # not the items' titles, put in order the same way
            spilled.append(self.spilled)
        yield from original(self)

    monkeypatch.setattr(spill.KeyGroups, "groups", groups)
    config = CONFIGS["capped"]
    held = {}
    for limit in (0, 1, 13, 250):
        spilled.clear()
        limited = BuildConfig(**{**config.to_dict(), "amazon_early_filter": early_filter, "amazon_spill_rows": limit})
        tables = Amazon2023().read(sparse, limited)
        held[limit] = _tables_json(tables)
        assert spilled == [0 < limit] * len(CATEGORIES)  # each category past these limits went to disk
        if limit == 13:
            assert cells_json(SourceIndex(tables), limited) == cells_json(index_of(sparse, config, early_filter), config)
    assert len(set(held.values())) == 1


def test_the_second_passes_read_the_same_rows_and_texts_in_small_blocks(sparse, monkeypatch):
    """TUI's re-read (rows_of) and the text fetch in many small blocks give what one block gives: block
    boundaries (their read size, issue 15) must not move a row, a line number or a text."""
    from itdr_hf.readers import jsonl
    from itdr_hf.sources import amazon_2023

    config = CONFIGS["defaults"]
    on = index_of(sparse, config, "auto")
    items = on.item_pool[::2]
    whole = on.item_rows(items).reset_index(drop=True)
    pairs = whole[["user", "item"]].astype(str).drop_duplicates().reset_index(drop=True)
    texts = on.tables.texts.fetch(pairs)
    monkeypatch.setattr(amazon_2023, "FETCH_BLOCK", 2048)
    monkeypatch.setattr(jsonl, "_MIN_READ_SIZE", 256)
    blocks = list(jsonl.iter_blocks(next(iter(on.tables.all_rows.files.values())), amazon_2023.FETCH_BLOCK))
    assert len(blocks) > 20
    small = on.item_rows(items).reset_index(drop=True)
    pd.testing.assert_frame_equal(small, whole)
    pd.testing.assert_frame_equal(on.tables.texts.fetch(pairs), texts)
    assert len(whole) and len(texts)
