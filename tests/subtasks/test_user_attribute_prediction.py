"""UAP asks only for the attributes the user has (issue 14's policy): every asked attribute is answered."""

from __future__ import annotations

import re

from itdr_hf.config import BuildConfig
from itdr_hf.pipeline import Selection, load_source, run, source_dir
from itdr_hf.sources import SOURCES


def test_the_question_asks_exactly_the_attributes_the_answer_gives():
    plan = run(Selection(subtasks=("user_attribute_prediction",), demo=True), BuildConfig())
    rows = [r for c in plan.cells for split in c.rows.values() for r in split]
    partial = 0
    for row in rows:
        asked = re.search(r"what is the user's (.*)\? Answer", row["input"]).group(1).split(", ")
        answered = [a["name"] for a in row["attributes"]]
        assert asked == answered, (row["source"], asked, answered)
        assert row["output"] == ",".join(f"{a['name']}:{a['value']}" for a in row["attributes"])
        partial += len(answered) < max(len(r["attributes"]) for r in rows if r["source"] == row["source"])
    assert partial > 0  # the demo has users with some attributes missing: they are still asked, for fewer


def test_user_attribute_prediction_reads_the_users_table(rows_of):
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
