"""One (subtask, source) cell: generate examples, render them, split them, mark the eval subset."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .config import BuildConfig
from .features import extra_columns
from .index import SourceIndex
from .splits import SPLITS, eval_subset_mask
from .subtasks import SUBTASKS, Example, Subtask
from .templates import render, render_memoised


@dataclass
class Cell:
    subtask: str
    source: str
    rows: dict[str, list[dict]] = field(default_factory=lambda: {s: [] for s in SPLITS})

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())


def cell_rng(config: BuildConfig, subtask: str, source: str) -> np.random.Generator:
    digest = hashlib.blake2b(f"{subtask}\x1f{source}".encode(), digest_size=8).digest()
    return np.random.default_rng([config.seed, int.from_bytes(digest, "little")])


def example_id(subtask: Subtask, source: str, example: Example) -> str:
    key = f"{subtask.name}\x1f{source}\x1f{example.user_id}\x1f{example.item_id}"
    return f"{subtask.abbr}-{source}-{hashlib.blake2b(key.encode(), digest_size=8).hexdigest()}"


def render_row(subtask: Subtask, source: str, example: Example, config: BuildConfig) -> dict:
    ctx = example.context
    instruction = render_memoised(subtask.name, "instruction", **ctx) if config.task_descriptions else ""
    text_input = render(subtask.name, "input", **ctx)
    output = render(subtask.name, "output", **ctx)
    prompt = f"{instruction}\n\n{text_input}" if instruction else text_input
    row = {
        "id": example_id(subtask, source, example),
        "task": subtask.name,
        "source": source,
        "instruction": instruction,
        "input": text_input,
        "output": output,
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": output}],
        "user_id": str(example.user_id),
        "item_id": str(example.item_id),
        "eval_subset": False,
    }
    for column in extra_columns(subtask.name):
        row[column] = example.truth.get(column)
    return row


def make_cell(subtask_name: str, index: SourceIndex, config: BuildConfig) -> Cell:
    subtask = SUBTASKS.get(subtask_name)()
    source = index.tables.name
    rng = cell_rng(config, subtask_name, source)
    cell = Cell(subtask_name, source)
    for example in subtask.generate(index, config, rng):
        cell.rows[SPLITS[example.split]].append(render_row(subtask, source, example, config))
    test = cell.rows["test"]
    for row, chosen in zip(test, eval_subset_mask(len(test), config, rng)):
        row["eval_subset"] = bool(chosen)
    return cell
