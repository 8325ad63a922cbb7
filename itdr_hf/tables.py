"""The normalised tables every source reader produces and every subtask generator reads.

Sources differ in files, delimiters and encodings; subtasks differ in what they ask. The
tables are the narrow waist between them, so a new source feeds every subtask it has the
columns for, and a new subtask works on every source at once.

Ids stay in the source's own dtype (MovieLens ids are integers: 32M rows of strings would
cost gigabytes); generators turn them into strings only for the rows they emit.
"""

from __future__ import annotations

import copy
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


class TextStore:
    """User-written text about items (reviews, tags used as comments), fetched on demand.

    Generators first look at who wrote about what (:meth:`authors`, ids only), choose their
    users or items, then :meth:`fetch` the few texts they show. A source whose texts would not
    fit in memory (Amazon's tens of GB of reviews) implements ``fetch`` as a second streaming
    pass over its files; small sources keep a DataFrame (:class:`FrameTextStore`).
    """

    def authors(self) -> pd.DataFrame:
        """One row per text: ``user``, ``item`` (and ``rating``/``timestamp`` where known)."""
        raise NotImplementedError

    def fetch(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """The texts of the given (``user``, ``item``) pairs: columns ``user``, ``item``, ``text``.

        A pair may have several texts (MovieLens tags); rows keep the source's order.
        """
        raise NotImplementedError

    @property
    def empty(self) -> bool:
        return self.authors().empty


class FrameTextStore(TextStore):
    def __init__(self, frame: pd.DataFrame | None = None) -> None:
        if frame is None:
            frame = pd.DataFrame({"user": [], "item": [], "text": []})
        missing = {"user", "item", "text"} - set(frame.columns)
        if missing:
            raise ValueError(f"text frame lacks columns {sorted(missing)}")
        self.frame = frame.reset_index(drop=True)

    def authors(self) -> pd.DataFrame:
        return self.frame.drop(columns=["text"])

    def fetch(self, pairs: pd.DataFrame) -> pd.DataFrame:
        keys = pd.MultiIndex.from_frame(pairs[["user", "item"]])
        mine = pd.MultiIndex.from_frame(self.frame[["user", "item"]])
        return self.frame.loc[mine.isin(keys), ["user", "item", "text"]].reset_index(drop=True)


class AllRows:
    """What a reader that kept only some of the interactions it read knows of all of them.

    Amazon 2023's reader drops, while reading, the reviews of users with too few titled reviews
    in a category for any user-history cell there (most of them); what must still see every
    review asks here: item pools, popularity and domains (:class:`~itdr_hf.index.SourceIndex`),
    target user identification's per-item writers and the rows of the items it chose. Counting
    from the kept rows instead would change which negatives are drawn and which items qualify.

    counts: one row per (domain, item) read, columns ``domain``, ``item`` (the interactions'
        dtypes) and ``rows`` (interactions, titled or not).
    writers: distinct users per item over every row read, indexed by item (code order).
    read, dropped: interactions read (after the reader's own de-duplication) and dropped early;
        ``reason`` says why, for the report.
    """

    def __init__(self, counts: pd.DataFrame, writers: pd.Series, read: int, dropped: int, reason: str) -> None:
        self.counts = counts
        self.writers = writers
        self.read, self.dropped, self.reason = read, dropped, reason

    def in_domain(self, domain: str) -> AllRows:
        """The same reader's rows, counted in one domain only (a domain view's pools)."""
        view = copy.copy(self)
        view.counts = self.counts[(self.counts["domain"] == domain).to_numpy()]
        return view

    def rows_of(self, items: np.ndarray) -> pd.DataFrame:
        """Every interaction of these items, dropped or kept, in the order read: columns ``user``, ``item``,
        ``rating``, ``timestamp``, ``domain``."""
        raise NotImplementedError

    def users_in_two_domains(self, titled: np.ndarray) -> bool:
        """Whether some user interacted with ``titled`` items in two domains, over every row read."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class SourceTables:
    """A source after reading.

    interactions: one row per (user, item) event with columns ``user``, ``item``, ``rating``
        (float32, NaN where the source has none) and ``timestamp`` (int64 seconds, -1 where the
        source has none); optional ``domain`` (for sources made of several categories) and
        ``weight`` (float32 strength of an implicit signal: Steam hours played, Last.fm plays),
        which ranks a user's items where the source has no ratings.
    items: indexed by item id; ``title`` (str) is required; optional ``categories`` (list of
        str), ``tags`` (list of str), ``year`` (str), ``domain`` (str) and ``details`` (dict of
        str → str: publisher, author, …).
    skipped_lines: :meth:`BadLines.summary` of each file that had lines skipped, for the report.
    all_rows: set by a reader that dropped rows early (:class:`AllRows`); None: ``interactions``
        holds every row read.
    users: indexed by user id with the columns ``user_attributes`` name; may be empty.
    texts: user-written text about items (reviews, tags as comments), a :class:`TextStore`;
        may be empty.
    """

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame = field(default_factory=pd.DataFrame)
    texts: TextStore = field(default_factory=FrameTextStore)
    user_attributes: tuple[AttributeSpec, ...] = ()
    rating_scale: tuple[float, float] | None = None
    rating_decimals: int = 0
    item_noun: str = "item"
    category_label: str = "categories"
    has_timestamps: bool = True
    skipped_lines: tuple[dict, ...] = ()
    all_rows: AllRows | None = None

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


def format_attribute(value: object, kind: str) -> str:
    """Attribute values as a person writes them: ``1985``, not ``1985.0``."""
    if kind == NUMERIC:
        number = float(value)
        return str(int(number)) if number.is_integer() else f"{number:g}"
    return str(value).strip()
