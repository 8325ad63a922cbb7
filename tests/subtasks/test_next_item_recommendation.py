"""Next item recommendation on the real ml-latest-small: one true item among five, the paper's layout."""

from __future__ import annotations


def test_next_item_has_one_true_item_among_five(ml, rows_of, chronological):
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
