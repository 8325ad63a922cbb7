"""Typed ``datasets.Features`` per config: the common columns plus each subtask's ground truth.

The ``all`` config carries the union, so one schema serves mixed training; a column a subtask
does not have is null in its rows.
"""

from __future__ import annotations

import datasets

from .subtasks import SUBTASKS, ordered_names

ALL = "all"

COMMON = {
    "id": datasets.Value("string"),
    "task": datasets.Value("string"),
    "source": datasets.Value("string"),
    "instruction": datasets.Value("string"),
    "input": datasets.Value("string"),
    "output": datasets.Value("string"),
    "messages": [{"role": datasets.Value("string"), "content": datasets.Value("string")}],
    "user_id": datasets.Value("string"),
    "item_id": datasets.Value("string"),
    "eval_subset": datasets.Value("bool"),
}


def extra_columns(config_name: str) -> dict:
    if config_name == ALL:
        merged: dict = {}
        for name in ordered_names():
            for column, feature in SUBTASKS.get(name).features.items():
                if column in merged and merged[column] != feature:
                    raise ValueError(f"column {column!r} has two types across subtasks")
                merged[column] = feature
        return merged
    return dict(SUBTASKS.get(config_name).features)


def features_for(config_name: str) -> datasets.Features:
    return datasets.Features({**COMMON, **extra_columns(config_name)})
