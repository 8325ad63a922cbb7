"""What each MovieLens-fed subtask promises, checked on the real ml-latest-small and the demo."""

from __future__ import annotations

import numpy as np
import pytest

from itdr_hf.cells import make_cell
from itdr_hf.config import BuildConfig
from itdr_hf.index import tie_keys
from itdr_hf.pipeline import Selection, load_source, source_dir
from itdr_hf.sources import SOURCES
from itdr_hf.splits import SPLITS


@pytest.fixture(scope="module")
def ml(ml_small):
    return load_source("movielens_32m", ml_small, BuildConfig())


def rows_of(subtask, index, config=BuildConfig()):
    result = make_cell(subtask, index, config)
    return [r for s in SPLITS for r in result.rows[s]]


def chronological(index, user):
    inter = index.tables.interactions
    mine = inter[inter["user"] == int(user)]
    # Same-second ties: the build's seeded (user, item) hash (issue 14), not file order.
    order = np.lexsort((np.arange(len(mine)), tie_keys(mine, BuildConfig().seed), mine["timestamp"].to_numpy()))
    return mine.iloc[order]


def test_rating_prediction_target_is_the_last_rating_and_history_precedes_it(ml):
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


def test_top_k_candidates_are_the_next_five_plus_five_unseen(ml):
    rows = rows_of("top_k_recommendation", ml)
    for row in rows[:50]:
        history = chronological(ml, row["user_id"])
        items = history["item"].tolist()
        assert len(row["candidates"]) == 10 == len(set(row["candidates"]))
        assert row["positives"] == [ml.title_of[i] for i in items[-5:]]
        negatives = [int(c) for c, t in zip(row["candidate_ids"], row["candidates"]) if t not in row["positives"]]
        assert len(negatives) == 5 and not set(negatives) & set(items)
        ranked = [line.split(". ", 1)[1] for line in row["output"].splitlines()]
        assert ranked[:5] == row["positives"] and sorted(ranked) == sorted(row["candidates"])


def test_candidate_positions_are_shuffled(ml):
    rows = rows_of("top_k_recommendation", ml)
    first_positive_slot = [row["candidates"].index(row["positives"][0]) for row in rows]
    assert len(set(first_positive_slot)) == 10


def test_next_item_has_one_true_item_among_five(ml):
    rows = rows_of("next_item_recommendation", ml)
    for row in rows[:50]:
        history = chronological(ml, row["user_id"])
        assert row["item_id"] == str(history["item"].iloc[-1])
        assert row["output"] == ml.title_of[history["item"].iloc[-1]] == row["positives"][0]
        assert len(row["candidates"]) == 5 and row["output"] in row["candidates"]
        lines = row["input"].splitlines()
        item = history["item"].iloc[-11]  # 10 history items: MovieLens' per-source default (inferred)
        assert lines[1] == f"1. {ml.title_of[item]}:{'|'.join(ml.tables.items.at[item, 'categories'])}"
        candidates = lines[lines.index("Candidates:") + 1 : -1]
        assert len(candidates) == 5 and all(":" in c for c in candidates)  # title:category, as the paper's


def test_popularity_negatives_prefer_popular_items(ml):
    counts = ml.tables.interactions["item"].value_counts()
    def mean_popularity(mode):
        rows = rows_of("top_k_recommendation", ml, BuildConfig(negative_sampling=mode))
        negatives = [int(c) for r in rows for c, t in zip(r["candidate_ids"], r["candidates"]) if t not in r["positives"]]
        return counts.reindex(negatives).mean()
    assert mean_popularity("popularity") > 3 * mean_popularity("uniform")


def test_user_attribute_prediction_reads_the_users_table():
    root = source_dir(SOURCES.get("movielens_1m")(), Selection(demo=True), None)
    index = load_source("movielens_1m", root, BuildConfig())
    rows = rows_of("user_attribute_prediction", index)
    assert len(rows) == len(index.tables.users)  # one per user, as ML-1M's 6,040
    for row in rows:
        user = index.tables.users.loc[int(row["user_id"])]
        assert row["attributes"] == [
            {"name": "age group", "value": user["age_group"], "kind": "categorical"},
            {"name": "gender", "value": user["gender"], "kind": "categorical"},
            {"name": "occupation", "value": user["occupation"], "kind": "categorical"},
        ]
        assert row["output"] == f"age group:{user['age_group']},gender:{user['gender']},occupation:{user['occupation']}"
        assert 5 <= len(row["input"].splitlines()) - 2 <= 20


def test_target_user_identification_uses_three_distinct_taggers(ml):
    rows = rows_of("target_user_identification", ml)
    assert rows
    texts = ml.tables.texts.authors()
    for row in rows:
        item = int(row["item_id"])
        comments = row["input"].split("User comments:\n")[1].splitlines()[:-1]
        assert len(comments) == 3
        assert texts[texts["item"] == item]["user"].nunique() >= 3
        assert row["reference_provenance"] == "derived:tui-v2"
        assert row["output"].startswith(ml.title_of[item])
        assert row["user_id"] == ""


def test_cap_and_exact_split_proportions(ml):
    rows = make_cell("rating_prediction", ml, BuildConfig(cap_per_cell=100)).rows
    assert [len(rows[s]) for s in SPLITS] == [80, 10, 10]
    assert sum(r["eval_subset"] for r in rows["test"]) == 10
