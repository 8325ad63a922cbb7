"""A derived IR/TUI reference states no number that its input does not show (issue 14): the
model must be able to answer from what it sees."""

from __future__ import annotations

import re

import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.pipeline import Selection, run

NUMBER = re.compile(r"\d+(?:\.\d+)?")
TASKS = ("interest_recognition", "target_user_identification")


def unsupported_numbers(row: dict) -> list[str]:
    shown = set(NUMBER.findall(row["input"]))
    # A list's own numbering ("1. ", "2. ") is form, not a fact.
    body = re.sub(r"(?m)^\d+\. ", "", row["output"])
    return [n for n in NUMBER.findall(body) if n not in shown]


def check(plan) -> int:
    rows = [r for c in plan.cells if c.subtask in TASKS for split in c.rows.values() for r in split]
    for row in rows:
        assert not unsupported_numbers(row), (row["source"], unsupported_numbers(row), row["input"], row["output"])
    return len(rows)


def test_demo_references_state_only_numbers_in_their_input():
    assert check(run(Selection(subtasks=TASKS, demo=True), BuildConfig(cap_per_cell=60, cap_per_domain=10))) > 50


def test_real_movielens_tui_references_state_only_numbers_in_their_input(ml_small):
    plan = run(Selection(subtasks=("target_user_identification",), sources=("movielens_32m",), data_dir=str(ml_small)), BuildConfig())
    assert check(plan) > 20


def test_the_check_catches_an_unsupported_number():
    row = {"input": "Ratings: 3 users", "output": "1. Fans: 68% of the 215 users"}
    assert unsupported_numbers(row) == ["68", "215"]


@pytest.mark.parametrize("subtask", TASKS)
def test_derived_references_take_the_papers_form(subtask):
    plan = run(Selection(subtasks=(subtask,), demo=True), BuildConfig(cap_per_cell=30, cap_per_domain=5))
    outputs = [r["output"] for c in plan.cells for split in c.rows.values() for r in split]
    assert outputs
    for out in outputs:
        if subtask == "interest_recognition":
            assert "\n" not in out and out.splitlines()[-1].count("In short: ") == 1 and out.endswith(".")
        else:
            lines = out.splitlines()
            assert lines[1].startswith("1. ") and "should avoid it" in lines[-1]
