"""One (subtask, source) cell: generate examples, render them, split them, mark the eval subset."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import numpy as np

from .config import BuildConfig
from .features import extra_columns
from .heap import release_free_memory
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
    # The question ends the input (as in the paper's examples), so the paper's "w/o task
    # description" ablation, which drops the instruction, still asks it.
    text_input = f'{render(subtask.name, "input", **ctx)}\n{render(subtask.name, "question", **ctx)}'
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
    for example in _examples(subtask, index, config, rng):
        cell.rows[SPLITS[example.split]].append(render_row(subtask, source, example, config))
    test = cell.rows["test"]
    for row, chosen in zip(test, eval_subset_mask(len(test), config, rng)):
        row["eval_subset"] = bool(chosen)
    return cell


def _examples(subtask: Subtask, index: SourceIndex, config: BuildConfig, rng: np.random.Generator) -> list[Example]:
    """All of a cell's examples; per domain, each capped at ``cap_per_domain``, where the subtask asks for it."""
    if not (subtask.per_domain and config.cap_per_domain and len(index.domains) > 1):
        return subtask.generate(index, config, rng)
    per_domain = dataclasses.replace(config, cap_per_cell=config.cap_per_domain)
    examples: list[Example] = []
    for domain in index.domains:
        examples.extend(subtask.generate(index.domain_view(domain), per_domain, rng))
        release_free_memory()  # the domain's transients (counts, pools, histories), before the next domain's
    # One list ordered as a single-domain cell is: by split, then as generated.
    return sorted(examples, key=lambda e: e.split)
