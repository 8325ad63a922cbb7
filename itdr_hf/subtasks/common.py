"""Pieces several generators share: item views for templates, candidate lists, text trimming."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..index import History, SourceIndex, codes_of
from ..text import clean


def candidates_with_negatives(
    index: SourceIndex,
    rng: np.random.Generator,
    positives: list,
    history: pd.DataFrame | History,
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


TOKENS_PER_WORD = 1.2  # DeepSeek-V3 tokens per whitespace word on the bundled review sample: 1.17


def trim(text: str, max_tokens: int) -> str:
    """Clean the text and cut it at a word boundary within an estimated token budget, so one essay
    does not swamp a prompt; the estimate (words × 1.2) needs no tokenizer and is deterministic."""
    words = clean(text).split()
    keep = int(max_tokens / TOKENS_PER_WORD)
    if len(words) <= keep:
        return " ".join(words)
    return " ".join(words[:keep]) + "…"


def distinct_titles(index: SourceIndex, items: list) -> bool:
    titles = [index.title_of[i] for i in items]
    return len(set(titles)) == len(titles)


def aligned(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """``values.reindex(keys).to_numpy()`` (NaN where a key is absent); through the codes when both share
    one categorical dtype, so pandas builds no hash table of the categories (Amazon: every user id)."""
    index = values.index
    if isinstance(keys.dtype, pd.CategoricalDtype) and isinstance(index.dtype, pd.CategoricalDtype) \
            and keys.cat.categories is index.categories and values.dtype.kind in "iuf" and _distinct(index.codes):
        table = np.full(len(keys.cat.categories) + 1, np.nan)  # the last slot: code -1 (a missing key)
        table[index.codes] = values.to_numpy()
        return table[codes_of(keys)]
    return values.reindex(keys.to_numpy()).to_numpy()


def _distinct(codes: np.ndarray) -> bool:
    """``CategoricalIndex.is_unique`` from its codes: pandas' answer builds a hash engine and keeps it."""
    codes = np.asarray(codes)
    return not len(codes) or int(np.bincount(codes + 1).max()) <= 1
