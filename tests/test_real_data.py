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
