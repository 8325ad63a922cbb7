"""Target user identification (TUI, UIU): describe the users an item suits.

Item-centric: one example per item (split by item), with its attributes and
``tui_comments`` reviews or comments from distinct users. Sources without user-written text
(BookCrossing, MIND, PixelRec, the Anime 2023 scores) show ``tui_comments`` raters instead:
their rating, their known attributes and a few other items they liked (``tui_evidence``), which
is our substitute: the paper does not say what it showed for those sources. The paper's references are prose an
LLM wrote; offline, the reference is *derived* from the data (the item's genres and tags, how
its raters rated it, who its fans are where the source has demographics) and its provenance is
recorded in ``reference_provenance``. Every statistic the derived reference states (raters,
average, share who liked it, fan profile) is also shown in the input, so the reference is answerable
from what the model sees; the statistics count train-split users only (global user hash). The LLM writer
(``itdr_hf.references``, with ``--references``) replaces it in place.
"""

from __future__ import annotations

import datasets
import numpy as np
import pandas as pd

from ..config import BuildConfig
from ..index import SourceIndex, codes_of, ids_of, member_mask
from ..splits import choose_units, choose_units_by_group, split_of
from ..tables import CATEGORICAL, SourceTables, format_attribute
from ..templates import render
from .base import UIU, Example, Subtask, register_subtask
from .common import aligned, trim

PROVENANCE = "derived:tui-v2"


@register_subtask
class TargetUserIdentification(Subtask):
    name = "target_user_identification"
    abbr = "TUI"
    root = UIU
    title = "Target user identification"
    answer = "text"
    split_unit = "item"
    features = {"reference_provenance": datasets.Value("string")}

    def generate(self, index: SourceIndex, config: BuildConfig, rng: np.random.Generator) -> list[Example]:
        tables = index.tables
        use_reviews = config.tui_evidence == "reviews" or (config.tui_evidence == "auto" and not tables.texts.empty)
        if use_reviews and tables.texts.empty:
            return []
        authors, writers = self._authors(index, use_reviews)
        raters = index.item_counts
        eligible = writers.index[
            (writers.to_numpy() >= config.tui_comments)
            & (_raters_of(raters, writers.index) >= config.tui_min_raters)
        ]
        items, splits = self._choose(index, eligible, config, rng)
        rows = index.item_rows(items)
        stats = self._rating_stats(tables, rows, config)
        item_authors = rows if authors is None else authors[member_mask(authors["item"], items)]
        commenters = self._commenters(item_authors, items, config, rng)
        texts = tables.texts.fetch(commenters) if use_reviews else rater_notes(index, commenters, config)
        by_item: dict = {}
        for user, item, text in zip(texts["user"].tolist(), texts["item"].tolist(), texts["text"].tolist()):
            by_item.setdefault(item, {}).setdefault(user, []).append(text)
        examples = []
        for item, split in zip(items, splits):
            view = index.item_view(item)
            comments = self._comments(by_item[item], config, rng)
            facts = {**view, **stats.get(item, {}), "noun": tables.item_noun, "category_label": tables.category_label}
            facts["title"] = view["title"]
            examples.append(
                Example(
                    user_id="",
                    item_id=item,
                    split=int(split),
                    context={
                        "item": view,
                        "stats": stats.get(item, {}),
                        "comments": comments,
                        "evidence": "reviews" if use_reviews else "raters",
                        "category_label": tables.category_label,
                        "noun": tables.item_noun,
                        "reference": render(self.name, "reference", **facts),
                    },
                    truth={"reference_provenance": PROVENANCE},
                )
            )
        return examples

    @staticmethod
    def _authors(index: SourceIndex, use_reviews: bool) -> tuple[pd.DataFrame | None, pd.Series]:
        """Who wrote about the shown items, and how many distinct writers each has.

        A reader that dropped rows early (:class:`~itdr_hf.tables.AllRows`, Amazon 2023, whose
        reviews are its interactions) counted the writers over every row it read; the rows of the
        chosen items are then re-read (authors None), as its kept rows lack most writers.
        """
        all_rows = index.tables.all_rows
        if all_rows is not None:
            writers = all_rows.writers
            return None, writers[index.in_item_pool(pd.Series(writers.index))]
        authors = index.tables.texts.authors() if use_reviews else index.titled_interactions[["user", "item"]]
        shown = index.in_item_pool(authors["item"])
        if not shown.all():  # a boolean index copies every column even when it keeps every row
            authors = authors[shown]
        del shown
        return authors, _writers(authors)

    @staticmethod
    def _choose(index: SourceIndex, eligible: pd.Index, config: BuildConfig, rng: np.random.Generator):
        """Items per domain where the source has several (paper: Amazon 2023 = 12 categories × 525).

        ``eligible``: an index of item ids, a categorical one for the readers that code them. Its ids stay in
        their Arrow buffer (:func:`~itdr_hf.index.ids_of`): Amazon has millions, of which 6,300 are chosen."""
        items = index.tables.items
        ids = ids_of(eligible)
        if "domain" not in items.columns or not config.cap_per_domain or len(index.domains) < 2:
            return choose_units(ids, config, index.tables.name, "item", rng)
        return choose_units_by_group(ids, _domains_of(index, eligible), config, index.tables.name, "item", rng)

    @staticmethod
    def _commenters(authors: pd.DataFrame, items: np.ndarray, config: BuildConfig, rng: np.random.Generator) -> pd.DataFrame:
        """``tui_comments`` distinct writers per item, seeded; only their texts are fetched."""
        pairs = authors[["item", "user"]].drop_duplicates().sort_values(["item", "user"], kind="stable")
        groups = {item: users.to_numpy() for item, users in pairs.groupby("item", sort=False, observed=True)["user"]}
        chosen = []
        for item in items:
            users = groups[item]
            for i in np.sort(rng.choice(len(users), size=config.tui_comments, replace=False)):
                chosen.append((users[i], item))
        return pd.DataFrame(chosen, columns=["user", "item"])

    @staticmethod
    def _comments(by_user: dict, config: BuildConfig, rng: np.random.Generator) -> list[str]:
        """One comment per chosen writer (their texts on the item joined, duplicates dropped)."""
        return [trim(", ".join(dict.fromkeys(by_user[user])), config.max_text_tokens) for user in sorted(by_user)]

    @staticmethod
    def _rating_stats(tables: SourceTables, rows: pd.DataFrame, config: BuildConfig) -> dict:
        """Train-split raters of the chosen items (``rows``: their titled interactions)."""
        # Only train-split users' ratings (by the global user hash every user-split subtask uses):
        # a test user's held-out rating must not reach any training text through an average.
        rows = rows[split_of(rows["user"].to_numpy(), config, tables.name, "user") == 0]
        counts = rows["item"].value_counts()
        out: dict = {item: {"n_raters": int(n)} for item, n in counts[counts.to_numpy() > 0].items()}
        if not tables.has_ratings:
            return out
        rated = rows[rows["rating"].notna()]
        cutoff = tables.like_cutoff(config.like_threshold)
        liked = rated[rated["rating"] >= cutoff]
        summary = rated.groupby("item", observed=True)["rating"].agg(["mean", "size"])
        n_liked = liked.groupby("item", observed=True).size()
        fans = _fan_profile(tables, liked)
        high = tables.rating_scale[1]
        step = 0.5 if tables.rating_decimals else 1.0
        for item, (mean, size) in summary.iterrows():
            out[item].update(
                {
                    "mean_rating": f"{mean:.1f}",
                    "scale_max": tables.format_rating(high),
                    "like_cutoff": tables.format_rating(float(np.ceil(cutoff / step) * step)),
                    "pct_liked": int(round(100 * n_liked.get(item, 0) / size)),
                    "fans": fans.get(item, []),
                }
            )
        return out


def _domains_of(index: SourceIndex, items: np.ndarray | pd.Index) -> np.ndarray:
    """``items_table["domain"].reindex(items).astype(str).to_numpy()``, the items found through their codes where
    those are rows of the item table (:meth:`~itdr_hf.index.SourceIndex.item_rows_of`), else the item lookup.

    Why: ``reindex`` builds pandas' hash engine on the item index and keeps it there, a Python string per
    item (0.54 GB for Amazon's 7.9M, all build long); the lookup searches a sorted index in place, one
    Python call per item (Amazon: millions of eligible items).
    """
    domain = index.tables.items["domain"]
    if not isinstance(domain.dtype, pd.CategoricalDtype):
        return domain.reindex(np.asarray(items)).astype(str).to_numpy()
    positions = index.item_rows_of(items)
    if positions is None:
        lookup = index.title_of
        positions = np.fromiter(
            (-1 if (at := lookup.position(item)) is None else at for item in np.asarray(items)), dtype=np.int64,
            count=len(items),
        )
    codes = np.append(codes_of(domain).astype(np.int64), -1)[positions]  # an unknown item: missing
    labels = np.empty(len(domain.cat.categories) + 1, dtype=object)
    labels[:-1] = [str(c) for c in domain.cat.categories]
    labels[-1] = np.nan  # what astype(str) leaves of a missing domain
    return labels[codes]


def _raters_of(raters: pd.Series, items: pd.Index) -> np.ndarray:
    """``raters.reindex(items).fillna(0)``, through the categorical codes both share (:func:`~.common.aligned`).

    pandas' reindex of one CategoricalIndex by another (every item with a writer, Amazon) peaked at
    +390 MB at 3 GB of synthetic input, measured alone; the codes cost +5 MB.
    """
    return np.nan_to_num(aligned(raters, pd.Series(items)), nan=0.0)


def _writers(authors: pd.DataFrame) -> pd.Series:
    """Distinct writers per item (``groupby("item")["user"].nunique()``, items without one left out).

    With categorical ids it counts distinct (item, user) code pairs in one sorted int64 key: 9 bytes
    a row, where pandas' grouped nunique peaked at ~75 (67M reviews of Home_and_Kitchen: 5 GB).
    """
    users, items = authors["user"], authors["item"]
    if not (isinstance(users.dtype, pd.CategoricalDtype) and isinstance(items.dtype, pd.CategoricalDtype)):
        return authors.groupby("item", observed=True)["user"].nunique()
    user_codes, item_codes = codes_of(users), codes_of(items)
    if (user_codes < 0).any() or (item_codes < 0).any():  # missing ids: pandas' own rules
        return authors.groupby("item", observed=True)["user"].nunique()
    n_users = max(len(users.cat.categories), 1)
    key = item_codes.astype(np.int64)  # item * users + user, sorted in place: 9 bytes a row in all
    key *= n_users
    key += user_codes
    key.sort()
    first = np.ones(len(key), dtype=bool)  # the first row of each distinct (item, user)
    np.not_equal(key[1:], key[:-1], out=first[1:])
    key //= n_users
    counts = np.bincount(key, weights=first, minlength=len(items.cat.categories)).astype(np.int64)
    del key, first
    present = np.flatnonzero(counts)
    index = pd.CategoricalIndex(pd.Categorical.from_codes(present, dtype=items.dtype), name="item")
    return pd.Series(counts[present], index=index, name="user")


def _fan_profile(tables, liked: pd.DataFrame) -> dict:
    """For each item, the most common value of each categorical user attribute among its fans."""
    specs = [s for s in tables.user_attributes if s.kind == CATEGORICAL]
    if not specs or tables.users.empty or liked.empty:
        return {}
    joined = liked[["item", "user"]].join(tables.users[[s.column for s in specs]], on="user")
    profile: dict = {}
    for spec in specs:
        column = joined.dropna(subset=[spec.column])
        if column.empty:
            continue
        counts = column.groupby(["item", spec.column], observed=True).size().reset_index(name="n")
        counts = counts.sort_values(["item", "n", spec.column], ascending=[True, False, True], kind="stable")
        totals = column.groupby("item", observed=True).size()
        for item, top in counts.groupby("item", sort=False, observed=True).head(1).set_index("item").iterrows():
            share = int(round(100 * top["n"] / totals[item]))
            profile.setdefault(item, []).append({"name": spec.name, "value": str(top[spec.column]), "share": share})
    return profile


def rater_notes(index: SourceIndex, raters: pd.DataFrame, config: BuildConfig) -> pd.DataFrame:
    """A short factual note per (user, item) for sources without reviews, in the ``fetch`` shape."""
    tables = index.tables
    histories = index.histories(raters["user"].unique(), seed=config.seed)
    cutoff = tables.like_cutoff(config.like_threshold)
    specs = tables.user_attributes
    notes = []
    for user, item in zip(raters["user"].tolist(), raters["item"].tolist()):
        rows = histories.arrays(user)
        mine = rows.item == item
        rating = rows.rating[mine][-1] if mine.any() else np.nan
        liked = rows.item[(~mine) & ((rows.rating >= cutoff) | np.isnan(rows.rating))][-config.tui_rater_items:]
        attributes = []
        if specs and user in tables.users.index:
            for spec in specs:
                value = tables.users.at[user, spec.column]
                if pd.notna(value) and str(value).strip():
                    attributes.append({"name": spec.name, "value": format_attribute(value, spec.kind)})
        notes.append(
            render(
                "target_user_identification", "rater",
                rating=None if np.isnan(rating) else tables.format_rating(float(rating)),
                scale_max=tables.format_rating(tables.rating_scale[1]) if tables.rating_scale else None,
                attributes=attributes,
                liked=[index.title_of[i] for i in liked[::-1]],
                noun=tables.item_noun,
            )
        )
    return pd.DataFrame({"user": raters["user"].to_numpy(), "item": raters["item"].to_numpy(), "text": notes})
