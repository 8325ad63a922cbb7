"""Per-source lookups the subtask generators share, computed once and only for what is needed.

At MovieLens 32M scale a full sort of 32M interactions costs more than reading them; the
generators only need the histories of the few thousand users a cell samples, so histories are
cut out for those users and sorted alone.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .readers.spill import string_bytes
from .tables import SourceTables
from .text import clean, clean_list


def member_mask(values: pd.Series, wanted: object) -> np.ndarray:
    """``values.isin(wanted)`` as a boolean array; a lookup table for small non-negative integer ids.

    MovieLens ids are integers below a few hundred thousand: indexing a table of that size is 5-10x
    faster than hashing 32M values, and this runs once per subtask. Nothing wanted is all False at once:
    the general path would make a Python object per row first (Amazon: 54M user ids, gigabytes).
    """
    if not len(wanted):
        return np.zeros(len(values), dtype=bool)
    if isinstance(values.dtype, pd.CategoricalDtype):
        found = _categorical_member_mask(values, wanted)
        if found is not None:
            return found
    array = values.to_numpy()
    wanted = np.asarray(wanted)
    if array.dtype.kind in "iu" and wanted.dtype.kind in "iu" and len(array):
        low, high = int(array.min()), int(array.max())
        if low >= 0 and high < 50_000_000:
            table = np.zeros(high + 1, dtype=bool)
            table[wanted[(wanted >= 0) & (wanted <= high)]] = True
            return table[array]
    return values.isin(wanted).to_numpy()


def codes_of(values: pd.Series) -> np.ndarray:
    """A categorical Series' codes, read-only and without a copy.

    Why not ``values.cat.codes.to_numpy()``: pandas 3 builds a new Series of the codes, and its constructor
    copies them (4 bytes a row: 0.2 GB for Amazon's 52M kept reviews, at every call).
    """
    return values.array.codes


COUNTED_SLICE = 1 << 22  # codes counted at once (:func:`code_counts`)


def code_counts(codes: np.ndarray, size: int, where: np.ndarray | None = None) -> np.ndarray:
    """``np.bincount(codes[where], minlength=size)`` (int64), a slice of rows at a time.

    Why: ``bincount`` (and pandas' ``value_counts`` of a categorical, which calls it) first copies
    int32 codes to int64, 8 bytes a row (0.4 GB for Amazon's 52M kept reviews).
    """
    counts = np.zeros(size, dtype=np.int64)
    for start in range(0, len(codes), COUNTED_SLICE):
        part = codes[start:start + COUNTED_SLICE]
        counts += np.bincount(part if where is None else part[where[start:start + COUNTED_SLICE]], minlength=size)
    return counts


def domain_rows(frame: pd.DataFrame, domain: str) -> pd.DataFrame:
    """``frame[frame["domain"] == domain]``, as a slice of ``frame`` (no copy) where the domain's rows are contiguous.

    Why: readers of several categories (Amazon 2023) keep each category's rows together, and a per-domain
    cell asked for a copy of a domain's rows each time, its index included (Home_and_Kitchen at the
    paper's size: ~25M rows, ~0.7 GB). The slice has the same rows, columns and index labels.
    """
    mask = (frame["domain"] == domain).to_numpy()
    count = int(mask.sum())
    first = int(mask.argmax()) if count else 0
    if count and mask[first:first + count].all():
        return frame.iloc[first:first + count]
    return frame[mask]


def arrow_strings(ids: object) -> pa.Array | None:
    """A pandas Index of string ids as the Arrow array it already holds (no copy), or None: not one, or has nulls."""
    if not isinstance(ids, pd.Index) or not isinstance(ids.dtype, pd.StringDtype) or ids.dtype.storage != "pyarrow":
        return None
    array = pa.array(ids.array)
    return None if array.null_count else array


def sorted_ids(ids: pd.Index | pd.Series) -> np.ndarray | pd.Index:
    """The distinct ids, sorted: ``np.sort(ids.unique())``, but string ids stay an Index in an Arrow buffer.

    Why: an object array makes a Python string per id (~67 bytes: 0.5 GB for Amazon's 7.9M items),
    and the item pools are held all build long. Indexing the Index gives the same Python strings,
    in the same order (UTF-8 byte order is code point order).
    """
    values = ids.array if isinstance(ids, pd.Index) else ids
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = values.dtype.categories
        codes = np.asarray(values.codes if isinstance(values, pd.Categorical) else codes_of(values))
        if arrow_strings(categories) is not None and not (codes < 0).any():
            return categories.take(in_id_order(categories, np.unique(codes)))
    elif arrow_strings(index := pd.Index(values)) is not None:
        return index.take(in_id_order(index, distinct=False))
    return np.sort(pd.unique(values) if not isinstance(ids, pd.Index) else ids.unique().to_numpy())


def in_id_order(index: pd.Index, positions: np.ndarray | None = None, *, distinct: bool = True) -> np.ndarray:
    """``positions`` (None: all) of an Arrow-backed string Index ordered by their ids (the first of equal ids,
    unless ``distinct``): what ``index[positions].unique().sort_values()`` gives, in positions.

    Why not pandas: ``unique`` and ``sort_values`` first ask ``is_unique`` / ``is_monotonic_increasing``,
    which build the hash engine, a Python string per id, and keep it on the Index (Amazon's pools: millions
    of ids, ~70 bytes each, held all build long). Arrow sorts the buffer in place (byte order, as pandas').
    """
    names = pa.array(index.array)
    if positions is not None:
        names = names.take(pa.array(positions))
    order = pc.sort_indices(names).to_numpy()
    positions = order if positions is None else positions[order]
    if not distinct and len(order) > 1:
        ordered = names.take(pa.array(order))
        first = np.ones(len(order), dtype=bool)
        first[1:] = pc.not_equal(ordered.slice(1), ordered.slice(0, len(order) - 1)).to_numpy(zero_copy_only=False)
        positions = positions[first]
    return positions


def found_in(pool: np.ndarray | pd.Index, candidates: np.ndarray) -> list:
    """The ``candidates`` that are in ``pool`` (ids as ``tolist`` gives them), hashing only the candidates.

    Why: ``set(pool.tolist())`` makes a Python string per pool id (a domain of Amazon 2023: millions) to
    answer for the few hundred items of the chosen users.
    """
    names = arrow_strings(pool)
    if names is None:
        candidates = np.asarray(candidates)
        return candidates[np.isin(candidates, np.asarray(pool))].tolist()
    if not len(candidates):
        return []
    return pool[_hits(names, np.asarray(candidates, dtype=object))].tolist()


def _categorical_member_mask(values: pd.Series, wanted: object) -> np.ndarray | None:
    """``isin`` of a string categorical through its codes, or None when the fast path does not apply.

    pandas' ``isin`` on a categorical hashes its categories as Python strings and keeps that table on
    the categories: ~90 bytes a category, in every process that asks (Amazon's users: gigabytes).
    Arrow hashes the wanted ids instead and scans the categories in C; nothing is kept. Wanted ids in an
    Arrow-backed Index (:func:`sorted_ids`) are read in their buffer.
    """
    categories = values.cat.categories
    in_arrow = arrow_strings(wanted)
    if in_arrow is not None:
        wanted = in_arrow
    elif not (isinstance(wanted, np.ndarray) and wanted.dtype.kind == "U"):
        wanted = np.asarray(wanted, dtype=object)  # not np.asarray(list): it would make NaN the string "nan"
        if pd.api.types.infer_dtype(wanted, skipna=False) != "string":
            return None  # NaN, non-strings or nothing among the wanted ids: pandas' own rules
    if categories.dtype.kind != "O" or not pd.api.types.is_string_dtype(categories):
        return None
    names = pa.array(categories.array)  # pandas' own Arrow buffer (large_string): no copy; the wanted ids are cast
    table = np.append(_hits(names, wanted), False)  # code -1 (missing) reads this last False
    return table[codes_of(values)]


WANTED_SLICE = 1 << 16  # wanted ids cast to Arrow at once when the names are hashed (:func:`_hits`)


def _hits(names: pa.Array, wanted: np.ndarray | pa.Array) -> np.ndarray:
    """Which of the (distinct) ``names`` are among the ``wanted`` ids, hashing the shorter of the two.

    Arrow keeps a hash table of its value set, ~130 bytes a value: asking which of the few items
    target user identification re-read are titled (wanted: every titled item) cost 90 MB at 700K
    items. Hashing the few names instead and scanning the wanted ids a slice at a time (an Arrow copy
    of all of them was another 40 MB) costs next to nothing.
    """
    def arrow(part: np.ndarray | pa.Array) -> pa.Array:
        return part.cast(names.type) if isinstance(part, pa.Array) else pa.array(part, type=names.type)

    if len(wanted) <= len(names):
        return pc.is_in(names, value_set=arrow(wanted)).to_numpy(zero_copy_only=False)
    hit = np.zeros(len(names), dtype=bool)
    for start in range(0, len(wanted), WANTED_SLICE):
        part = arrow(wanted[start:start + WANTED_SLICE])
        position = pc.index_in(part, value_set=names).to_numpy(zero_copy_only=False)  # NaN: not a name
        found = position[~np.isnan(position)] if position.dtype.kind == "f" else position
        hit[found.astype(np.int64)] = True
    return hit


@dataclass(frozen=True)
class History:
    """One user's chronological interactions as plain arrays (cheap to slice, unlike DataFrames)."""

    item: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray
    weight: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.item)

    def __getitem__(self, index: slice) -> History:
        weight = None if self.weight is None else self.weight[index]
        return History(self.item[index], self.rating[index], self.timestamp[index], weight)


def tie_keys(rows: pd.DataFrame, seed: int) -> np.ndarray:
    """A seeded pseudo-random key per row sharing (user, timestamp) with another row; 0 elsewhere."""
    from .splits import unit_hash

    keys = np.zeros(len(rows))
    tied = rows.duplicated(["user", "timestamp"], keep=False).to_numpy()
    if tied.any():
        sub = rows.loc[tied]
        keys[tied] = (unit_hash(sub["user"].to_numpy(), seed, "tie-user") + unit_hash(sub["item"].to_numpy(), seed, "tie-item")) % 1.0
    return keys


class Histories:
    """Chronological interactions of a set of users, one slice per user."""

    def __init__(self, interactions: pd.DataFrame, users: np.ndarray, seed: int | None = None) -> None:
        rows = interactions[member_mask(interactions["user"], users)]
        # Ties in time are broken by a seeded hash of (user, item), not file order: MovieLens sorts
        # ratings.csv by movieId within a user, so file order would make "next" the highest
        # movieId of a same-second batch (15% of ml-latest-small's targets). Then file order.
        # ``seed`` None: file order (sources without timestamps, whose file order is the history).
        ties = np.zeros(len(rows)) if seed is None else tie_keys(rows, seed)
        order = np.lexsort((np.arange(len(rows)), ties, rows["timestamp"].to_numpy(), rows["user"].to_numpy()))
        self.rows = rows.iloc[order].reset_index(drop=True)
        user_col = self.rows["user"].to_numpy()
        starts = np.flatnonzero(np.r_[True, user_col[1:] != user_col[:-1]]) if len(user_col) else np.array([], int)
        ends = np.r_[starts[1:], len(user_col)]
        self._slices = {user_col[s]: (s, e) for s, e in zip(starts, ends)}

    def of(self, user: object) -> pd.DataFrame:
        start, end = self._slices.get(user, (0, 0))
        return self.rows.iloc[start:end]

    def arrays(self, user: object) -> History:
        start, end = self._slices.get(user, (0, 0))
        weight = None if self._weight is None else self._weight[start:end]
        return History(self._item[start:end], self._rating[start:end], self._timestamp[start:end], weight)

    @cached_property
    def _weight(self) -> np.ndarray | None:
        return self.rows["weight"].to_numpy() if "weight" in self.rows.columns else None

    @cached_property
    def _item(self) -> np.ndarray:
        return self.rows["item"].to_numpy()

    @cached_property
    def _rating(self) -> np.ndarray:
        return self.rows["rating"].to_numpy()

    @cached_property
    def _timestamp(self) -> np.ndarray:
        return self.rows["timestamp"].to_numpy()


class ItemLookup:
    """Per-item column values by id, through the item index's own hash table (or a sorted search).

    A Python dict per column would cost ~100 bytes per item and column: gigabytes for Amazon's
    millions of products. The positions come from pandas' C hash engine, values from arrays. A
    sorted index of string ids is searched in a fixed-width copy of its ids instead (:class:`SortedIds`):
    pandas' engine makes a Python string per id and hashes them (~70 bytes an id, 0.54 GB for
    Amazon's 7.9M, held all build long).
    """

    COLUMNS = ("title", "categories", "tags", "year", "domain", "details")

    def __init__(self, items: pd.DataFrame) -> None:
        self.index = items.index
        self.columns = {name: _positional(items[name]) for name in self.COLUMNS if name in items.columns}
        self.columns["title"] = _positional(items["title"].astype(str))
        self._dense = _dense_positions(self.index)
        self._sorted = SortedIds.of(self.index) if self._dense is None else None
        self._titles: dict[int, str] = {}  # position -> cleaned title, for the items asked about only

    def position(self, item: object) -> int | None:
        dense = self._dense
        if dense is not None and isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            # a list index instead of get_loc: a cell asks hundreds of thousands of times
            if 0 <= item < len(dense):
                found = dense[item]
                return found if found >= 0 else None
            return None
        return self._hash_position(item)

    def _hash_position(self, item: object) -> int | None:
        """The general path: pandas' hash engine (the first row when an id repeats)."""
        if self._sorted is not None and type(item) is str:
            found = self._sorted.position(item)
            if found is not NotImplemented:
                return found
        try:
            loc = self.index.get_loc(item)
        except KeyError:
            return None
        if isinstance(loc, slice):
            return loc.start
        if isinstance(loc, np.ndarray):
            return int(np.flatnonzero(loc)[0])
        return int(loc)

    def get(self, column: str, item: object, default: object = None) -> object:
        values = self.columns.get(column)
        position = self.position(item) if values is not None else None
        return default if position is None else values[position]

    def title(self, item: object) -> str:
        position = self.position(item)
        if position is None:
            raise KeyError(item)
        return self._title_at(position)

    def _title_at(self, position: int) -> str:
        """The cleaned title, kept once read: a cell asks for the same titles again and again (each view,
        candidate list and history). One string per item asked about: less than its view keeps."""
        title = self._titles.get(position)
        if title is None:
            title = self._titles[position] = clean(self.columns["title"][position])
        return title

    def view(self, item: object) -> dict:
        """What templates may say about an item (:meth:`SourceIndex.item_view`), from one lookup of its row."""
        position = self.position(item)
        if position is None:
            raise KeyError(item)
        columns = self.columns

        def at(name: str) -> object:
            values = columns.get(name)
            return None if values is None else values[position]

        return {
            "id": str(item),
            "title": self._title_at(position),
            "categories": clean_list(_as_list(at("categories"))),
            "tags": clean_list(_as_list(at("tags"))),
            "year": clean(_as_text(at("year"))),
            "domain": _as_text(at("domain")),
            "details": {k: clean(v) for k, v in dict(at("details") or {}).items() if clean(v)},
        }

    __getitem__ = title


class SourceIndex:
    def __init__(self, tables: SourceTables) -> None:
        self.tables = tables

    def item_view(self, item: object) -> dict:
        """What templates may say about an item; absent columns are empty, never missing."""
        view = self._views.get(item)
        if view is None:
            view = self._views[item] = self._item_lookup.view(item)
        return view

    @cached_property
    def _views(self) -> dict:
        return {}

    @cached_property
    def _item_lookup(self) -> ItemLookup:
        return ItemLookup(self.tables.items)

    @property
    def title_of(self) -> ItemLookup:
        """Item id → title (``title_of[item]``), for per-item lookups in Python loops."""
        return self._item_lookup

    @cached_property
    def unknown_item_rows(self) -> tuple[int, list]:
        """Interactions naming an item the item file lacks (count, first few ids): never shown, so counted."""
        inter = self.tables.interactions
        if self._coded_like_items(inter["item"]):
            unknown = codes_of(inter["item"]) < 0  # every category is an item of the table
        else:
            unknown = ~member_mask(inter["item"], _ids(self.tables.items.index))
        count = int(unknown.sum())
        return count, ([] if not count else [str(i) for i in dict.fromkeys(inter["item"].to_numpy()[unknown][:1000])][:3])

    @cached_property
    def _titled_flags(self) -> np.ndarray:
        """Whether each row of the item table has a title once cleaned. The cleaned titles are not kept: a
        Python string per item, ~1 GB for Amazon's 7.9M long product titles, only to learn which are empty."""
        titles = self.tables.items["title"].astype(str)
        return np.fromiter((bool(clean(t)) for t in titles), dtype=bool, count=len(titles))

    @cached_property
    def _titled_items(self) -> np.ndarray | pd.Index:
        """Items whose title is not empty once cleaned; string ids stay in their Arrow buffer (:func:`_ids`)."""
        flags, index = self._titled_flags, self.tables.items.index
        return _ids(index if flags.all() else index[flags])  # not a copy of every id when every item is titled

    def _coded_like_items(self, items: pd.Series) -> bool:
        """Whether a categorical of item ids has the item table's ids, in its order, as categories (Amazon's
        reader makes both from one id list): then a code is a row of the item table."""
        if not isinstance(items.dtype, pd.CategoricalDtype):
            return False
        categories, index = items.cat.categories, self.tables.items.index
        if categories is index:
            return True
        known = self._coded_like.get(id(categories))  # (the categories, kept so that their id is not reused; answer)
        if known is None or known[0] is not categories:
            ours, theirs = arrow_strings(categories), arrow_strings(index)
            same = ours is not None and theirs is not None and ours.type == theirs.type and ours.equals(theirs)
            known = self._coded_like[id(categories)] = (categories, same)
        return known[1]

    @cached_property
    def _coded_like(self) -> dict:
        return {}

    def item_rows_of(self, items: object) -> np.ndarray | None:
        """The item table's row of each id in a categorical index of item ids (-1: a missing id), from the codes
        where they are those rows (:meth:`_coded_like_items`); None otherwise (ask the item lookup)."""
        if not isinstance(items, pd.CategoricalIndex) or not self._coded_like_items(pd.Series(items)):
            return None
        return items.codes.astype(np.int64)

    def _titled_rows(self, items: pd.Series) -> np.ndarray:
        """``member_mask(items, self._titled_items)``, through the codes where they are rows of the item table.

        Why: Arrow's ``is_in`` hashes the wanted ids (every titled item: 7.9M for Amazon, ~130 bytes each,
        1 GB for a moment), and this is asked in every per-domain view of every cell.
        """
        if self._coded_like_items(items):
            return np.append(self._titled_flags, False)[codes_of(items)]  # code -1 (missing) reads the last
        return member_mask(items, self._titled_items)

    @cached_property
    def titled_interactions(self) -> pd.DataFrame:
        """Interactions whose item has a title: only those can be shown to a model."""
        inter = self.tables.interactions
        if self._titled_flags.all() and self.unknown_item_rows[0] == 0:
            # every item is in the item table (the source report counted that before cells were forked),
            # and every one there has a title: no mask over every row in each cell's process (0.3 s at 32M)
            return inter
        keep = self._titled_rows(inter["item"])
        return inter if bool(keep.all()) else inter[keep]

    @cached_property
    def _read_counts(self) -> pd.DataFrame | None:
        """Titled interactions per (domain, item) over every row read, where the reader dropped some; else None."""
        all_rows = self.tables.all_rows
        if all_rows is None:
            return None
        counts = all_rows.counts
        return counts[self._titled_rows(counts["item"])]

    @cached_property
    def item_counts(self) -> pd.Series:
        """Titled interactions per item (every row read, also those a reader dropped early)."""
        if self._read_counts is None:
            return self.titled_interactions["item"].value_counts()
        read = self._read_counts
        summed = summed_by_code(read["item"], read["rows"])
        return read.groupby("item", observed=True)["rows"].sum() if summed is None else summed

    def item_rows(self, items: np.ndarray) -> pd.DataFrame:
        """Every titled interaction of these items; re-read where the reader dropped some (:class:`AllRows`)."""
        if self.tables.all_rows is None:
            inter = self.titled_interactions
            return inter[member_mask(inter["item"], items)]
        rows = self.tables.all_rows.rows_of(items)
        return rows[self._titled_rows(rows["item"])]

    @cached_property
    def user_counts(self) -> pd.Series:
        return value_counts(self.titled_interactions["user"])

    @cached_property
    def rated_user_counts(self) -> pd.Series:
        inter = self.titled_interactions
        return value_counts(inter["user"], inter["rating"].notna().to_numpy())

    @cached_property
    def item_pool(self) -> np.ndarray | pd.Index:
        """Items that can be candidates: titled and interacted with at least once."""
        rows = self.titled_interactions if self._read_counts is None else self._read_counts
        return sorted_ids(rows["item"])

    def in_item_pool(self, items: pd.Series) -> np.ndarray:
        """``member_mask(items, self.item_pool)``; through the codes where ``items`` share the pool's categories.

        Why: hashing the pool as the wanted set costs ~130 bytes an id for a moment (Amazon: 7.9M items, 1 GB),
        to answer for items whose codes already say it.
        """
        pooled = (self.titled_interactions if self._read_counts is None else self._read_counts)["item"]
        codes = complete_codes(pooled)
        if codes is None or not isinstance(items.dtype, pd.CategoricalDtype) \
                or items.cat.categories is not pooled.cat.categories:
            return member_mask(items, self.item_pool)
        flags = np.zeros(len(pooled.cat.categories) + 1, dtype=bool)  # the last: code -1 (missing), never pooled
        flags[codes] = True
        return flags[codes_of(items)]

    @cached_property
    def item_popularity(self) -> np.ndarray:
        counted = _counted_pool(self._counted_rows(None), present=True)
        if counted is not None and counted[0].equals(self.item_pool):
            return counted[1]
        return self.item_counts.reindex(self.item_pool).to_numpy(dtype=np.float64)

    def _counted_rows(self, domain: str | None) -> tuple[pd.Series, np.ndarray | None]:
        """The item of each titled row (of one domain, or all), with its weight: rows it stands for (None: 1)."""
        if self._read_counts is None:
            inter = self.titled_interactions
            items = inter["item"] if domain is None else domain_rows(inter, domain)["item"]
            return items, None
        read = self._read_counts
        if domain is not None:
            read = read[(read["domain"] == domain).to_numpy()]
        return read["item"], read["rows"].to_numpy()

    def users_with_at_least(self, n: int, *, rated: bool = False) -> np.ndarray | pd.Index:
        """Users with at least ``n`` (titled; ``rated``: rated) interactions. String ids in an Arrow buffer stay
        an Index of it (:func:`_ids`): Amazon's big categories have millions, a cell keeps a few thousand."""
        counts = self.rated_user_counts if rated else self.user_counts
        return ids_of(counts.index[counts.to_numpy() >= n])

    def histories(self, users: np.ndarray, *, rated: bool = False, seed: int | None = None) -> Histories:
        """``seed``: same-timestamp ties by a seeded hash (sources with timestamps); None: file order."""
        inter = self.titled_interactions
        if rated:
            inter = inter[inter["rating"].notna()]
        return Histories(inter, users, seed if self.tables.has_timestamps else None)

    def sample_negatives(
        self,
        rng: np.random.Generator,
        k: int,
        exclude_items: set,
        exclude_titles: set[str],
        mode: str = "uniform",
        domain: str | None = None,
    ) -> list:
        """``k`` distinct items the user never interacted with, titles unique among the candidates.

        ``domain``: draw only from that domain's items (cross-domain recommendation ranks
        candidates of the target domain alone).
        """
        pool, cdf = (self.item_pool, self._popularity_cdf if mode == "popularity" else None) if domain is None \
            else self._domain_pool(domain, mode)
        picked: list = []
        titles = set(exclude_titles)
        for _ in range(50 * k + 100):
            if len(picked) == k:
                break
            if mode == "popularity":
                idx = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
            else:
                idx = int(rng.integers(len(pool)))
            item = pool[min(idx, len(pool) - 1)]
            title = self.title_of[item]
            if item in exclude_items or title in titles:
                continue
            picked.append(item)
            titles.add(title)
        if len(picked) < k:
            raise ValueError("not enough distinct items to sample negatives from")
        return picked

    @cached_property
    def _popularity_cdf(self) -> np.ndarray:
        return np.cumsum(self.item_popularity)

    @cached_property
    def domains(self) -> list[str]:
        """The domains the interactions come from (sorted); empty for single-domain sources."""
        inter = self.tables.interactions if self.tables.all_rows is None else self.tables.all_rows.counts
        if "domain" not in inter.columns:
            return []
        return sorted(str(d) for d in inter["domain"].dropna().unique())

    def domain_view(self, domain: str) -> SourceIndex:
        """The source restricted to one domain's interactions (items, users and texts are shared)."""
        tables = self.tables
        inter = tables.interactions
        all_rows = None if tables.all_rows is None else tables.all_rows.in_domain(domain)
        view = SourceIndex(dataclasses.replace(tables, interactions=domain_rows(inter, domain), all_rows=all_rows))
        # one item table, so one lookup, one view cache and one titled-item list (recomputed per
        # domain, cleaning every title costs time and memory on Amazon's millions of items)
        for shared in ("_item_lookup", "_views", "_titled_flags", "_titled_items", "_coded_like"):
            view.__dict__[shared] = getattr(self, shared)
        return view

    def domain_items(self, domain: str) -> np.ndarray:
        """The candidate pool of one domain: its titled items that were interacted with (sorted)."""
        return self._domain_pool(domain, "uniform")[0]

    def _domain_pool(self, domain: str, mode: str) -> tuple[np.ndarray, np.ndarray | None]:
        if domain not in self._domain_pools and (counted := _counted_pool(self._counted_rows(domain))) is not None:
            self._domain_pools[domain] = (counted[0], np.cumsum(counted[1]))
        if domain not in self._domain_pools:
            if self._read_counts is None:
                inter = self.titled_interactions
                counts = domain_rows(inter, domain)["item"].value_counts()
            else:
                read = self._read_counts[(self._read_counts["domain"] == domain).to_numpy()]
                counts = read.groupby("item", observed=True)["rows"].sum()
            counts = counts[counts.to_numpy() > 0]
            pool = sorted_ids(counts.index)
            self._domain_pools[domain] = (pool, np.cumsum(counts.reindex(pool).to_numpy(dtype=np.float64)))
        pool, cdf = self._domain_pools[domain]
        return pool, (cdf if mode == "popularity" else None)

    @cached_property
    def _domain_pools(self) -> dict:
        return {}


def value_counts(values: pd.Series, where: np.ndarray | None = None) -> pd.Series:
    """``values[where].value_counts(sort=False)``: through the codes (:func:`code_counts`) for a categorical
    without missing values, with the same index, name and dtype; pandas' own otherwise."""
    codes = complete_codes(values)
    if codes is None:
        return (values if where is None else values[where]).value_counts(sort=False)
    dtype = values.dtype
    index = pd.CategoricalIndex(pd.Categorical.from_codes(np.arange(len(dtype.categories)), dtype=dtype), name=values.name)
    return pd.Series(code_counts(codes, len(dtype.categories), where), index=index, name="count")


def complete_codes(keys: pd.Series) -> np.ndarray | None:
    """The codes of a categorical without missing values; None for anything else (pandas' own rules)."""
    if not isinstance(keys.dtype, pd.CategoricalDtype):
        return None
    codes = codes_of(keys)
    return None if (codes < 0).any() else codes


def summed_by_code(keys: pd.Series, values: pd.Series) -> pd.Series | None:
    """``values.groupby(keys, observed=True).sum()`` for integer values and a categorical without missing keys,
    through the codes; None otherwise.

    Why: pandas' grouper builds a hash engine on the observed categories and keeps it with the result
    (Amazon: a Python string per item with a review, ~0.5 GB at 7M items).
    """
    codes = complete_codes(keys)
    if codes is None or values.dtype.kind not in "iu":
        return None
    size = len(keys.cat.categories)
    present = np.flatnonzero(np.bincount(codes, minlength=size))
    sums = np.bincount(codes, weights=values.to_numpy(), minlength=size)[present]  # exact: integers below 2**53
    index = pd.CategoricalIndex(pd.Categorical.from_codes(present, dtype=keys.dtype), name=keys.name)
    return pd.Series(sums.astype(values.dtype), index=index, name=values.name)


def _counted_pool(counted: tuple[pd.Series, np.ndarray | None], *, present: bool = False) -> tuple[pd.Index, np.ndarray] | None:
    """Items with a positive count (``present``: with a row) sorted by id, and their counts (float64), from
    the codes of a categorical of Arrow string ids; None for other ids (pandas' ``groupby`` / ``reindex``).

    Why: grouping by the item categorical, then ``reindex`` by the sorted pool, builds pandas' hash engine
    on the categories and on the pool and keeps both (Amazon: a Python string per item, ~1 GB at 7.9M).
    """
    items, weights = counted
    codes = complete_codes(items)
    if codes is None or arrow_strings(categories := items.cat.categories) is None:
        return None
    counts = np.bincount(codes, weights=weights, minlength=len(categories)).astype(np.float64)
    keep = np.bincount(codes, minlength=len(categories)) > 0 if present else counts > 0
    positions = in_id_order(categories, np.flatnonzero(keep))
    return categories.take(positions), counts[positions]


def ids_of(index: pd.Index) -> np.ndarray | pd.Index:
    """An index's ids as ``to_numpy`` gives them, except string ids in an Arrow buffer (a categorical index's
    categories included): those stay an Index of that buffer (:func:`_ids`), a Python string per id otherwise."""
    if isinstance(index, pd.CategoricalIndex) and not (index.codes < 0).any():
        return _ids(index.categories.take(index.codes))
    return _ids(index) if isinstance(index, pd.Index) else np.asarray(index)


def _ids(index: pd.Index) -> np.ndarray | pd.Index:
    """An Index of ids as ``to_numpy`` gives them, except string ids in an Arrow buffer: those stay the Index
    (a Python string per id otherwise; :func:`member_mask` and :func:`sorted_ids` read the buffer)."""
    return index if arrow_strings(index) is not None else index.to_numpy()


def _positional(column: pd.Series) -> object:
    """A column's values by position, each the one ``to_numpy`` gives, without a Python object per item.

    ``to_numpy`` makes a Python string per item of a string column, and of a categorical with string
    categories too (one per row, not per category): ~95 MB of titles and ~55 MB of domains at 700K
    Amazon items, kept all build long. Strings stay in their Arrow buffer (a lookup makes the one it
    reads); a categorical of strings becomes references to its few category strings.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(dtype.categories):
        # each category's value, then the fill of a missing code (-1 reads the last), as to_numpy gives them
        values = pd.Categorical.from_codes(np.arange(-1, len(dtype.categories)), dtype=dtype).to_numpy()
        if values.dtype == object:
            return values[codes_of(column).astype(np.int64) + 1]
    if isinstance(dtype, pd.StringDtype):
        return ArrowText(column.array, dtype.na_value) if dtype.storage == "pyarrow" else column.array
    return column.to_numpy()


class ArrowText:
    """A pyarrow-backed string column's values by position, each as ``to_numpy`` gives it, read
    straight from its Arrow chunks (never copied).

    pandas' element access checks the key and wraps the scalar: ~2 µs, where pyarrow's own is
    ~0.5 µs. Each item view reads two such columns (title, year), 65K views per worker at MovieLens 32M.
    """

    __slots__ = ("_chunks", "_starts", "_missing")

    def __init__(self, values: object, missing: object) -> None:
        data = pa.array(values)  # pandas hands over its chunks: no copy
        self._chunks = data.chunks if isinstance(data, pa.ChunkedArray) else [data]
        self._starts = [0, *itertools.accumulate(len(chunk) for chunk in self._chunks[:-1])]
        self._missing = missing

    def __len__(self) -> int:
        return sum(len(chunk) for chunk in self._chunks)

    def __getitem__(self, position: int) -> object:
        if position < 0:
            raise IndexError(position)
        if len(self._chunks) == 1:
            value = self._chunks[0][position].as_py()
        else:
            chunk = bisect.bisect_right(self._starts, position) - 1
            value = self._chunks[chunk][position - self._starts[chunk]].as_py()
        return self._missing if value is None else value


def _dense_positions(index: pd.Index) -> list[int] | None:
    """id → first position, for small non-negative integer ids (MovieLens: < 300K); else None (hash lookups).

    A Python list: indexing it costs a tenth of ``Index.get_loc`` (numpy scalar indexing, a half).
    """
    if index.dtype.kind not in "iu":  # not to_numpy first: a Python string per id, for nothing
        return None
    values = index.to_numpy()
    if values.dtype.kind not in "iu" or not len(values) or int(values.min()) < 0 or int(values.max()) >= 2_000_000:
        return None
    dense = np.full(int(values.max()) + 1, -1, dtype=np.int64)
    dense[values[::-1]] = np.arange(len(values) - 1, -1, -1)  # the first of repeated ids wins, as get_loc's
    return dense.tolist()


class SortedIds:
    """Positions of string ids in a strictly increasing index, by binary search in a fixed-width copy.

    Made only when it answers as ``Index.get_loc`` would: the ids (as UTF-8 bytes, whose order is
    Python's string order) strictly increase, so each is unique, and none holds a NUL byte (numpy's
    fixed-width bytes drop trailing NULs). An id longer than the widest is absent.
    """

    SLICE = 1 << 18  # ids copied into the fixed-width array at once (index temporaries: 16 bytes a byte)

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids
        self.width = ids.dtype.itemsize

    @classmethod
    def of(cls, index: pd.Index) -> SortedIds | None:
        if len(index) < 2 or not isinstance(index.dtype, pd.StringDtype) or index.dtype.storage != "pyarrow":
            return None
        names = pa.array(index.array)  # pandas' own Arrow buffer: no copy
        if names.null_count or not pc.all(pc.greater(names.slice(1), names.slice(0, len(names) - 1))).as_py():
            return None
        offsets, data = string_bytes(names)
        data = data[offsets[0]:offsets[-1]]
        offsets = offsets - offsets[0]
        if not len(data) or (data == 0).any():
            return None
        lengths = np.diff(offsets)
        width = int(lengths.max())
        out = np.zeros((len(names), width), dtype=np.uint8)
        for start in range(0, len(names), cls.SLICE):
            end = min(start + cls.SLICE, len(names))
            first, last = offsets[start], offsets[end]
            row = np.repeat(np.arange(start, end), lengths[start:end])
            column = np.arange(first, last) - np.repeat(offsets[start:end], lengths[start:end])
            out[row, column] = data[first:last]
        return cls(out.view(f"S{width}").ravel())

    def position(self, item: str) -> int | None | object:
        """The id's position, None when absent; ``NotImplemented``: ask the hash engine (a NUL in the id)."""
        if "\x00" in item:
            return NotImplemented
        key = item.encode()
        if len(key) > self.width:
            return None
        at = int(np.searchsorted(self.ids, key))
        return at if at < len(self.ids) and self.ids[at] == key else None


def _as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple, np.ndarray)) else []


def _as_text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
