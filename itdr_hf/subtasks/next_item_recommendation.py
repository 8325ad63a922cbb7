"""Next item recommendation (NIR, UII): pick the user's true next item among 5 candidates.

*Inferred* (SPEC §1): the true next item plus ``nir_negatives`` sampled items the user never
touched, shuffled; random choice scores Hit@1 = 0.2.
"""

from __future__ import annotations

import numpy as np

from ..config import BuildConfig
from ..index import SourceIndex
from ..splits import choose_units
from .base import UII, Example, Subtask, register_subtask
from .common import candidates_with_negatives
from .top_k_recommendation import RANKING_FEATURES, ranking_truth


@register_subtask("next_item_recommendation")
class NextItemRecommendation(Subtask):
    name = "next_item_recommendation"
    abbr = "NIR"
    root = UII
    title = "Next item recommendation"
    features = RANKING_FEATURES
    per_domain = True

    def unsupported(self, index: SourceIndex) -> str | None:
        return None if index.tables.has_timestamps else "the source has no timestamps to order a history"

    def generate(self, index: SourceIndex, config: BuildConfig, rng: np.random.Generator) -> list[Example]:
        tables = index.tables
        h = config.nir_history
        users, splits = choose_units(index.users_with_at_least(h + 1), config, tables.name, "user", rng)
        histories = index.histories(users)
        examples = []
        for user, split in zip(users, splits):
            rows = histories.arrays(user)
            history = rows.item[len(rows) - h - 1 : len(rows) - 1]
            target = rows.item[-1]
            candidates, _ = candidates_with_negatives(
                index, rng, [target], rows, config.nir_negatives, config.negative_sampling
            )
            examples.append(
                Example(
                    user_id=user,
                    item_id=target,
                    split=int(split),
                    context={
                        "history": [index.item_view(i) for i in history],
                        "candidates": [index.item_view(c) for c in candidates],
                        "answer": index.item_view(target),
                        "noun": tables.item_noun,
                    },
                    truth=ranking_truth(index, candidates, [target]),
                )
            )
        return examples
