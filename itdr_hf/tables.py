"""The normalised tables every source reader produces and every subtask generator reads.

Sources differ in files, delimiters and encodings; subtasks differ in what they ask. The
tables are the narrow waist between them, so a new source feeds every subtask it has the
columns for, and a new subtask works on every source at once.

Ids stay in the source's own dtype (MovieLens ids are integers: 32M rows of strings would
cost gigabytes); generators turn them into strings only for the rows they emit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CATEGORICAL = "categorical"
NUMERIC = "numeric"


@dataclass(frozen=True)
class AttributeSpec:
    """One user attribute: its column in ``users``, the name shown to the model, its kind."""

    column: str
    name: str
    kind: str = CATEGORICAL


@dataclass(frozen=True, eq=False)
class SourceTables:
    """A source after reading.

    interactions: one row per (user, item) event with columns ``user``, ``item``, ``rating``
        (float32, NaN where the source has none) and ``timestamp`` (int64 seconds, -1 where the
        source has none); optional ``domain`` (for sources made of several categories).
    items: indexed by item id; ``title`` (str) is required; optional ``categories`` (list of
        str), ``tags`` (list of str), ``year`` (str), ``domain`` (str) and ``details`` (dict of
        str → str: publisher, author, …).
    users: indexed by user id with the columns ``user_attributes`` name; may be empty.
    texts: user-written text about an item (reviews, tags as comments): ``user``, ``item``,
        ``text``, and optional ``rating``, ``timestamp``; may be empty.
    """

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame = field(default_factory=pd.DataFrame)
    texts: pd.DataFrame = field(default_factory=pd.DataFrame)
    user_attributes: tuple[AttributeSpec, ...] = ()
    rating_scale: tuple[float, float] | None = None
    rating_decimals: int = 0
    item_noun: str = "item"
    has_timestamps: bool = True

    def __post_init__(self) -> None:
        missing = {"user", "item", "rating", "timestamp"} - set(self.interactions.columns)
        if missing:
            raise ValueError(f"{self.name}: interactions lack columns {sorted(missing)}")
        if "title" not in self.items.columns:
            raise ValueError(f"{self.name}: items lack a 'title' column")

    def format_rating(self, value: float) -> str:
        """Ratings as the source writes them: ``4.5``/``4.0`` on half-star scales, ``8`` on whole ones."""
        return f"{value:.{self.rating_decimals}f}"

    @property
    def has_ratings(self) -> bool:
        return self.rating_scale is not None

    def like_cutoff(self, fraction: float) -> float:
        """The lowest rating that counts as liked, ``fraction`` of the way up the scale."""
        if self.rating_scale is None:
            return -np.inf
        low, high = self.rating_scale
        return low + fraction * (high - low)
