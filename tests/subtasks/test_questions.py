"""The paper's "w/o task description" ablation drops the instruction but keeps the question,
which ends the input of every subtask (as in the paper's seven examples)."""

from __future__ import annotations

import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.pipeline import Selection, run
from itdr_hf.subtasks import ordered_names


@pytest.fixture(scope="module")
def plan_without_descriptions():
    plan = run(Selection(demo=True), BuildConfig(task_descriptions=False, cap_per_cell=40, cap_per_domain=10))
    yield plan


@pytest.mark.parametrize("subtask", ordered_names())
def test_no_task_descriptions_still_asks_the_question(plan_without_descriptions, subtask):
    cells = [c for c in plan_without_descriptions.cells if c.subtask == subtask]
    assert cells, f"the demo builds no {subtask} cell"
    for cell in cells:
        for row in (r for split in cell.rows.values() for r in split):
            assert row["instruction"] == ""
            question = row["input"].splitlines()[-1]
            assert question.startswith("Based on"), (cell.source, question)
            assert question.rstrip().endswith(("?", ".")) and len(question.split()) >= 8
            assert row["messages"][0]["content"] == row["input"]
