"""A real build from ../shared/data/ml-latest-small: loads, sizes, and no leakage between splits."""

from __future__ import annotations

from collections import defaultdict

import pytest
from datasets import load_dataset

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.pipeline import Selection


@pytest.fixture(scope="module")
def real_build(ml_small, tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "itdr"
    result = build_dataset(out, Selection(sources=("movielens_32m",), data_dir=str(ml_small), strict=True), BuildConfig())
    return out, result


def test_real_build_loads_every_config(real_build):
    out, result = real_build
    assert result.configs == (
        "rating_prediction", "top_k_recommendation", "next_item_recommendation", "target_user_identification", "all",
    )
    sizes = {s.subtask: s.total for s in result.stats}
    assert sizes["rating_prediction"] == sizes["top_k_recommendation"] == sizes["next_item_recommendation"] == 610
    for config in result.configs:
        ds = load_dataset(str(out), config)
        assert sum(ds[s].num_rows for s in ds) == (sum(sizes.values()) if config == "all" else sizes[config])


def test_no_user_or_item_crosses_splits(real_build):
    out, _ = real_build
    ds = load_dataset(str(out), "all")
    split_of_user: dict[str, set[str]] = defaultdict(set)
    split_of_item: dict[str, set[str]] = defaultdict(set)
    for split in ds:
        for row in ds[split].select_columns(["task", "user_id", "item_id"]):
            if row["task"] == "target_user_identification":
                split_of_item[row["item_id"]].add(split)
            else:
                split_of_user[row["user_id"]].add(split)
    assert split_of_user and all(len(s) == 1 for s in split_of_user.values())
    assert split_of_item and all(len(s) == 1 for s in split_of_item.values())


def test_no_test_target_is_seen_in_training_for_the_same_user(real_build):
    out, _ = real_build
    ds = load_dataset(str(out), "all")
    train_text = defaultdict(str)
    for row in ds["train"]:
        if row["user_id"]:
            train_text[row["user_id"]] += row["input"] + row["output"]
    for row in ds["test"]:
        if row["task"] == "rating_prediction":
            title = row["input"].rsplit(" would the user give ", 1)[1].rsplit("? Answer", 1)[0]
            assert title not in train_text[row["user_id"]]


def test_eval_subset_is_fixed_and_only_in_test(real_build):
    out, _ = real_build
    ds = load_dataset(str(out), "rating_prediction")
    assert not any(ds["train"]["eval_subset"]) and not any(ds["validation"]["eval_subset"])
    assert sum(ds["test"]["eval_subset"]) == min(250, ds["test"].num_rows)


def test_readme_popularity_table_matches_real_builds_under_both_samplings(real_build, ml_small, tmp_path):
    """README quotes the popularity baseline of the real build under each negative sampling: keep it true."""
    import dataclasses
    import re
    from pathlib import Path

    from itdr_hf.baselines import popularity_cells

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    quoted = {m.group(1): (float(m.group(2)), float(m.group(3)), float(m.group(4)))
              for m in re.finditer(r"\| (top-K, P@5|next item, Hit@1) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", readme)}
    assert set(quoted) == {"top-K, P@5", "next item, Hit@1"}
    pop = tmp_path / "pop"
    build_dataset(pop, Selection(sources=("movielens_32m",), data_dir=str(ml_small), strict=True),
                  dataclasses.replace(BuildConfig(), negative_sampling="popularity"))
    def cells(folder):  # the card counts popularity over every config's train split, as here
        return {c.subtask: c for c in popularity_cells(folder, sorted(d.name for d in Path(folder).iterdir() if d.is_dir()))}

    uniform, popular = cells(real_build[0]), cells(pop)
    for label, config in (("top-K, P@5", "top_k_recommendation"), ("next item, Hit@1", "next_item_recommendation")):
        chance, u, p = quoted[label]
        assert (round(uniform[config].chance, 3), round(uniform[config].popularity, 3), round(popular[config].popularity, 3)) \
            == (chance, u, p), label
