"""Rating prediction (RP, UII): predict a user's rating of an item from their rated history."""

from __future__ import annotations

import datasets
import numpy as np

from ..config import BuildConfig
from ..index import SourceIndex
from ..splits import choose_units
from .base import UII, Example, Subtask, register_subtask


@register_subtask
class RatingPrediction(Subtask):
    name = "rating_prediction"
    abbr = "RP"
    root = UII
    title = "Rating prediction"
    answer = "rating"
    features = {
        "rating": datasets.Value("float32"),
        "rating_min": datasets.Value("float32"),
        "rating_max": datasets.Value("float32"),
    }

    def unsupported(self, index: SourceIndex) -> str | None:
        return None if index.tables.has_ratings else "the source has no explicit ratings"

    def generate(self, index: SourceIndex, config: BuildConfig, rng: np.random.Generator) -> list[Example]:
        tables = index.tables
        eligible = index.users_with_at_least(config.rp_history + 1, rated=True)
        users, splits = choose_units(eligible, config, tables.name, "user", rng)
        histories = index.histories(users, rated=True, seed=config.seed)
        low, high = tables.rating_scale
        examples = []
        for user, split in zip(users, splits):
            rows = histories.arrays(user)
            if config.rp_target == "last":
                t = len(rows) - 1
            else:
                t = int(rng.integers(config.rp_history, len(rows)))
            history = rows[t - config.rp_history : t]
            target_item, target_rating = rows.item[t], float(rows.rating[t])
            examples.append(
                Example(
                    user_id=user,
                    item_id=target_item,
                    split=int(split),
                    context={
                        "history": [
                            {**index.item_view(item), "rating": tables.format_rating(r)}
                            for item, r in zip(history.item, history.rating)
                        ],
                        "target": index.item_view(target_item),
                        "scale_min": tables.format_rating(low),
                        "scale_max": tables.format_rating(high),
                        "rating": tables.format_rating(target_rating),
                        "noun": tables.item_noun,
                    },
                    truth={"rating": target_rating, "rating_min": low, "rating_max": high},
                )
            )
        return examples
