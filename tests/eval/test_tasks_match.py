"""itdr-eval's task table against the builder's subtasks: a subtask added or changed on one side only fails here."""

from __future__ import annotations

from itdr_eval.tasks import TASKS

from itdr_hf.paper import ORDER
from itdr_hf.subtasks import SUBTASKS


def test_eval_scores_exactly_the_papers_subtasks_in_its_order():
    assert tuple(TASKS) == ORDER


def test_eval_agrees_with_each_subtask_class():
    for name, task in TASKS.items():
        cls = SUBTASKS.get(name)
        assert (task.abbr, task.root, task.answer) == (cls.abbr, cls.root, cls.answer), name
