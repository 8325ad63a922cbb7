"""Dataset loading from a Hub-layout folder and from bare Parquet; row selection and sampling."""

import os
import shutil

from itdr_eval.data import load_split, sample_train, select_rows
from itdr_eval_testutils import make_rows


def test_hub_layout_folder(dataset_dir):
    ds = load_split(dataset_dir, "top_k_recommendation", "test")
    assert len(ds) == len(make_rows("top_k_recommendation", "test"))
    assert {"id", "candidates", "positives", "eval_subset", "messages"} <= set(ds.column_names)


def test_bare_parquet_folder(dataset_dir, tmp_path):
    shutil.copytree(os.path.join(dataset_dir, "rating_prediction"), tmp_path / "rating_prediction")
    ds = load_split(str(tmp_path), "rating_prediction", "train")
    assert len(ds) == len(make_rows("rating_prediction", "train"))


def test_select_rows_subset_and_limit(dataset_dir):
    ds = load_split(dataset_dir, "rating_prediction", "test")
    all_rows = select_rows(ds, "test", None)
    eval_rows = select_rows(ds, "eval", None)
    assert len(all_rows) == 6 and len(eval_rows) == 4 and all(r["eval_subset"] for r in eval_rows)
    limited = select_rows(ds, "test", 1)
    assert sorted(r["source"] for r in limited) == ["bookcrossing", "movielens_32m"]


def test_sample_train_is_seeded(dataset_dir):
    ds = load_split(dataset_dir, "top_k_recommendation", "train")
    a = sample_train(ds, 0.5, None, 1)["id"]
    assert a == sample_train(ds, 0.5, None, 1)["id"] and len(a) == 2
    assert len(sample_train(ds, 1.0, 3, 1)) == 3


def test_eval_subset_requires_the_column(dataset_dir):
    import pytest

    ds = load_split(dataset_dir, "rating_prediction", "test").remove_columns("eval_subset")
    with pytest.raises(ValueError, match="--subset test"):
        select_rows(ds, "eval", None)
    assert len(select_rows(ds, "test", None)) == 6
