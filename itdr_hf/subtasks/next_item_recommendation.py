"""Next item recommendation (NIR, UII): pick the user's true next item among 5 candidates.

*Inferred* (SPEC §1): the true next item plus ``nir_negatives`` sampled items the user never
touched, shuffled; random choice scores Hit@1 = 0.2. Items are ``title:category`` in the history and the
candidates alike, as in the paper's example.

History length: ``nir_history``, or with 0 the per-source default of :data:`HISTORY_BY_SOURCE`.
*Inferred*: the paper's example shows 5 items, but its MovieLens 32M input averages 306.5
DeepSeek-V3 tokens, ~91 more than 5 history items and 5 candidates allow (~17 tokens per
``title:genres`` item); 10 items match it (measured on ml-latest-small). Other sources keep 5:
the paper gives no lengths that would say otherwise.
"""

from __future__ import annotations

import numpy as np

from ..config import BuildConfig
from ..index import SourceIndex
from ..splits import choose_units
from .base import UII, Example, Subtask, register_subtask
from .common import candidates_with_negatives
from .top_k_recommendation import RANKING_FEATURES, ranking_truth

DEFAULT_HISTORY = 5
HISTORY_BY_SOURCE = {"movielens_32m": 10}


def history_length(config: BuildConfig, source: str) -> int:
    return config.nir_history or HISTORY_BY_SOURCE.get(source, DEFAULT_HISTORY)


@register_subtask
class NextItemRecommendation(Subtask):
    name = "next_item_recommendation"
    abbr = "NIR"
    root = UII
    title = "Next item recommendation"
    answer = "choice"
    features = RANKING_FEATURES
    per_domain = True

    def unsupported(self, index: SourceIndex) -> str | None:
        return None if index.tables.has_timestamps else "the source has no timestamps to order a history"

    def generate(self, index: SourceIndex, config: BuildConfig, rng: np.random.Generator) -> list[Example]:
        tables = index.tables
        h = history_length(config, tables.name)
        users, splits = choose_units(index.users_with_at_least(h + 1), config, tables.name, "user", rng)
        histories = index.histories(users, seed=config.seed)
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
