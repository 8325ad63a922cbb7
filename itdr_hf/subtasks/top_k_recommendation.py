"""Top-K recommendation (TKR, UII): re-rank 10 candidates given 5 chronological history titles.

*Inferred* (SPEC §1): the candidates are the user's next ``tkr_positives`` real interactions
plus ``tkr_negatives`` sampled items the user never touched, shuffled; the gold ranking lists
the positives first (chronological), then the negatives. A random ranking scores
E[NDCG@10] = 0.7705 (5 binary positives among 10: 0.5 · Σ_{i≤10} 1/log2(i+1) ÷ Σ_{i≤5} 1/log2(i+1);
SPEC's "≈ 0.68" is wrong).
"""

from __future__ import annotations

import datasets
import numpy as np

from ..config import BuildConfig
from ..index import SourceIndex
from ..splits import choose_units
from .base import UII, Example, Subtask, register_subtask
from .common import candidates_with_negatives, distinct_titles

RANKING_FEATURES = {
    "candidates": datasets.Sequence(datasets.Value("string")),
    "candidate_ids": datasets.Sequence(datasets.Value("string")),
    "positives": datasets.Sequence(datasets.Value("string")),
}


def ranking_truth(index: SourceIndex, candidates: list, positives: list) -> dict:
    return {
        "candidates": [index.title_of[c] for c in candidates],
        "candidate_ids": [str(c) for c in candidates],
        "positives": [index.title_of[p] for p in positives],
    }


@register_subtask
class TopKRecommendation(Subtask):
    name = "top_k_recommendation"
    abbr = "TKR"
    root = UII
    title = "Top-K recommendation"
    answer = "ranking"
    features = RANKING_FEATURES
    per_domain = True

    def generate(self, index: SourceIndex, config: BuildConfig, rng: np.random.Generator) -> list[Example]:
        tables = index.tables
        h, p = config.tkr_history, config.tkr_positives
        users, splits = choose_units(index.users_with_at_least(h + p), config, tables.name, "user", rng)
        histories = index.histories(users, seed=config.seed)
        examples = []
        for user, split in zip(users, splits):
            rows = histories.arrays(user)
            window = rows[len(rows) - (h + p):]
            history, positives = window.item[:h], window.item[h:].tolist()
            if not distinct_titles(index, positives):
                continue
            candidates, negatives = candidates_with_negatives(
                index, rng, positives, rows, config.tkr_negatives, config.negative_sampling
            )
            examples.append(
                Example(
                    user_id=user,
                    item_id=positives[0],
                    split=int(split),
                    context={
                        "history": [index.item_view(i) for i in history],
                        "candidates": [index.item_view(c) for c in candidates],
                        "ranking": [index.item_view(i) for i in positives + negatives],
                        "noun": tables.item_noun,
                    },
                    truth=ranking_truth(index, candidates, positives),
                )
            )
        return examples
