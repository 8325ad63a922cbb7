"""Rating prediction on the real ml-latest-small: target, history, scale, cap and split sizes."""

from __future__ import annotations

import pytest

from itdr_hf.cells import make_cell
from itdr_hf.config import BuildConfig
from itdr_hf.splits import SPLITS


def test_rating_prediction_target_is_the_last_rating_and_history_precedes_it(ml, rows_of, chronological):
    rows = rows_of("rating_prediction", ml)
    assert len(rows) == 610  # every ml-latest-small user has >= 20 ratings
    for row in rows[:50]:
        history = chronological(ml, row["user_id"])
        last_item, last_rating = history["item"].iloc[-1], history["rating"].iloc[-1]
        assert row["item_id"] == str(last_item)
        assert row["rating"] == pytest.approx(float(last_rating))
        assert row["output"] == f"{last_rating:.1f}"
        shown = [line for line in row["input"].splitlines()[1:-1]]
        expected = [f"{ml.title_of[i]} ({r:.1f})" for i, r in zip(history["item"].iloc[-11:-1], history["rating"].iloc[-11:-1])]
        assert shown == expected
        assert (row["rating_min"], row["rating_max"]) == (0.5, 5.0)


def test_cap_and_exact_split_proportions(ml):
    rows = make_cell("rating_prediction", ml, BuildConfig(cap_per_cell=100)).rows
    assert [len(rows[s]) for s in SPLITS] == [80, 10, 10]
    assert sum(r["eval_subset"] for r in rows["test"]) == 10
