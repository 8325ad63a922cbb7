"""User attribute prediction (UAP, UIU): infer a user's demographics from the items they like.

One example per user with at least one known attribute (ML-1M: 6,040 = its user count). The
items shown are the user's ``uap_items`` highest-rated (ties: most recent), in time order.

Missing attributes (policy, issue 14): the question asks only for the attributes the user has, in
the source's order, so every asked attribute has an answer and no user with any attribute is lost
(the paper's counts, e.g. ML-1M's 6,040, are kept). Scoring counts each attribute over the users
asked for it.
"""

from __future__ import annotations

import datasets
import numpy as np
import pandas as pd

from ..config import BuildConfig
from ..index import History, SourceIndex
from ..splits import choose_units
from ..tables import format_attribute
from .base import UIU, Example, Subtask, register_subtask


@register_subtask
class UserAttributePrediction(Subtask):
    name = "user_attribute_prediction"
    abbr = "UAP"
    root = UIU
    title = "User attribute prediction"
    answer = "attributes"
    features = {
        "attributes": [
            {"name": datasets.Value("string"), "value": datasets.Value("string"), "kind": datasets.Value("string")}
        ],
    }

    def unsupported(self, index: SourceIndex) -> str | None:
        return None if index.tables.user_attributes else "the source has no user attributes"

    def generate(self, index: SourceIndex, config: BuildConfig, rng: np.random.Generator) -> list[Example]:
        tables = index.tables
        users_table = tables.users
        specs = tables.user_attributes
        known = users_table[[s.column for s in specs]].notna().any(axis=1)
        with_attrs = users_table.index[known.to_numpy()]
        active = index.users_with_at_least(config.uap_min_items)
        eligible = np.intersect1d(with_attrs.to_numpy(), active)
        users, splits = choose_units(eligible, config, tables.name, "user", rng)
        histories = index.histories(users, seed=config.seed)
        examples = []
        for user, split in zip(users, splits):
            shown = self._liked(histories.arrays(user), config.uap_items)
            attributes = [
                {"name": s.name, "value": format_attribute(users_table.at[user, s.column], s.kind), "kind": s.kind}
                for s in specs
                if pd.notna(users_table.at[user, s.column]) and str(users_table.at[user, s.column]).strip()
            ]
            if not attributes:
                continue
            examples.append(
                Example(
                    user_id=user,
                    item_id="",
                    split=int(split),
                    context={
                        "items": [index.item_view(i) for i in shown],
                        "attribute_names": [a["name"] for a in attributes],
                        "attributes": attributes,
                        "noun": tables.item_noun,
                    },
                    truth={"attributes": attributes},
                )
            )
        return examples

    @staticmethod
    def _liked(rows: History, n: int) -> np.ndarray:
        """The ``n`` highest-rated items (ties: most recent), shown in time order.

        Without ratings, the ``weight`` (plays, hours) ranks them; without either, the latest.
        """
        rating = rows.rating.astype(np.float64)
        if np.isnan(rating).all():
            if rows.weight is None:
                return rows.item[-n:]
            rating = rows.weight.astype(np.float64)
        position = np.arange(len(rows))
        best = np.lexsort((-position, -np.nan_to_num(rating, nan=-np.inf)))[:n]
        return rows.item[np.sort(best)]

