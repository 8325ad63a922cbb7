"""Target user identification on the real ml-latest-small: three distinct taggers per item."""

from __future__ import annotations


def test_target_user_identification_uses_three_distinct_taggers(ml, rows_of):
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
