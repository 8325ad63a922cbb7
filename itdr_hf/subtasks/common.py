"""Pieces several generators share: item views for templates, candidate lists, text trimming."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..index import History, SourceIndex
from ..text import clean

def candidates_with_negatives(
    index: SourceIndex,
    rng: np.random.Generator,
    positives: list,
    history: "pd.DataFrame | History",
    n_negatives: int,
    mode: str,
    domain: str | None = None,
) -> tuple[list, list]:
    """Shuffled candidates (positives + sampled negatives) and the negatives in candidate order.

    ``domain``: negatives come from that domain's items only.
    """
    titles = index.title_of
    seen = history["item"] if isinstance(history, pd.DataFrame) else history.item
    exclude_items = set(seen.tolist()) | set(positives)
    negatives = index.sample_negatives(
        rng, n_negatives, exclude_items, {titles[p] for p in positives}, mode=mode, domain=domain
    )
    candidates = list(positives) + negatives
    order = rng.permutation(len(candidates))
    shuffled = [candidates[i] for i in order]
    negative_set = set(negatives)
    return shuffled, [c for c in shuffled if c in negative_set]


def trim(text: str, limit: int) -> str:
    """Collapse whitespace and cut at a word boundary, so one essay does not swamp a prompt."""
    text = clean(text)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def distinct_titles(index: SourceIndex, items: list) -> bool:
    titles = [index.title_of[i] for i in items]
    return len(set(titles)) == len(titles)
