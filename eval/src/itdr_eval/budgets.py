"""Generation budgets (``max_new_tokens``) for the free-text subtasks, derived from the train references.

IR/TUI references are long (the paper's Steam IR references average 358 tokens), so a fixed budget
cuts answers off and BLEU's brevity penalty punishes the cut. Each (subtask, source) cell's default
budget is the 99th percentile of its train references' lengths in the model's tokenizer (the
response as trained, end-of-turn included), plus 10 % and 8 tokens. ``--max-new-tokens ir=N``
overrides it; the budgets used and the share of answers cut off by them are in ``results.json``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

DERIVED_ANSWERS = ("text",)  # subtask answer kinds whose budget is derived from references
PERCENTILE = 99.0
MARGIN_FRACTION = 0.10
MARGIN_TOKENS = 8
MAX_SAMPLE = 2000  # references tokenised per cell (seeded sample of larger cells)


def percentile(values: Sequence[int], q: float) -> int:
    """Nearest-rank percentile (an observed value, never interpolated)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def budget_from_lengths(lengths: Sequence[int]) -> int:
    return math.ceil(percentile(lengths, PERCENTILE) * (1 + MARGIN_FRACTION)) + MARGIN_TOKENS


def derive_cell_budgets(rows: Sequence[Mapping[str, Any]], count_tokens: Callable[[Mapping[str, Any]], int],
                        seed: int = 0) -> dict[str, dict[str, Any]]:
    """Per source of ``rows`` (one subtask's train split): the derived budget and how it was derived."""
    by_source: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_source.setdefault(r["source"], []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for source, cell in sorted(by_source.items()):
        sample = cell if len(cell) <= MAX_SAMPLE else random.Random(seed).sample(cell, MAX_SAMPLE)
        lengths = [count_tokens(r) for r in sample]
        out[source] = {
            "max_new_tokens": budget_from_lengths(lengths),
            "p99_reference_tokens": percentile(lengths, PERCENTILE),
            "max_reference_tokens": max(lengths),
            "references_measured": len(lengths),
            "rule": f"p{PERCENTILE:g} of train reference tokens x {1 + MARGIN_FRACTION:g} + {MARGIN_TOKENS}",
        }
    return out
