"""Top-K recommendation on the real ml-latest-small: the next five plus five unseen, shuffled, negative sampling."""

from __future__ import annotations

from itdr_hf.config import BuildConfig


def test_top_k_candidates_are_the_next_five_plus_five_unseen(ml, rows_of, chronological):
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


def test_candidate_positions_are_shuffled(ml, rows_of):
    rows = rows_of("top_k_recommendation", ml)
    first_positive_slot = [row["candidates"].index(row["positives"][0]) for row in rows]
    assert len(set(first_positive_slot)) == 10


def test_popularity_negatives_prefer_popular_items(ml, rows_of):
    counts = ml.tables.interactions["item"].value_counts()
    def mean_popularity(mode):
        rows = rows_of("top_k_recommendation", ml, BuildConfig(negative_sampling=mode))
        negatives = [int(c) for r in rows for c, t in zip(r["candidate_ids"], r["candidates"]) if t not in r["positives"]]
        return counts.reindex(negatives).mean()
    assert mean_popularity("popularity") > 3 * mean_popularity("uniform")
