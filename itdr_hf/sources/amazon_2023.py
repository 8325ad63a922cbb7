"""Amazon Reviews 2023 (McAuley Lab): several product categories, users shared across them.

Homepage: https://amazon-reviews-2023.github.io/ — 571.54M reviews in 33 categories (plus
"Unknown"), May 1996 to Sep 2023. Per category two JSON-lines files, gzipped:

- ``{Cat}.jsonl.gz`` reviews: ``rating`` (1.0–5.0), ``title``, ``text``, ``images``, ``asin``,
  ``parent_asin``, ``user_id``, ``timestamp`` (Unix **milliseconds**), ``helpful_vote``,
  ``verified_purchase``;
- ``meta_{Cat}.jsonl.gz`` items: ``main_category``, ``title``, ``average_rating``,
  ``rating_number``, ``features``, ``description``, ``price`` (number, string or null),
  ``images``, ``videos``, ``store``, ``categories``, ``details`` (a dict of free-form keys, some
  nested), ``parent_asin``, ``bought_together``. Any of them may be null.

Raw: ``https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_2023/raw/review_categories/{Cat}.jsonl.gz``
and ``.../raw/meta_categories/meta_{Cat}.jsonl.gz``. McAuley Lab publishes no checksums for
them, so the download is not verified (none is recorded); ``--data-dir`` may point at a folder
holding the files, gzipped or not (``{Cat}.jsonl``). Only the categories in
``amazon_categories`` are read; the download fetches the paper's 12.

How the tables are made: items are keyed by ``parent_asin`` (reviews of colour/size variants
share it), users by ``user_id``, which is the same person in every category: that is what
cross-domain recommendation needs. A user's repeated reviews of one item within a category
count once, at the earliest (so an item is never both history and target). Every interaction and item carries its ``domain`` (the
category's file stem). Timestamps become seconds. An item's ``categories`` are the meta
``categories`` (``main_category`` when that list is empty); ``details`` keeps ``Brand`` (else
the ``store``) and ``Manufacturer``, the attributes a shopper would name.

Why it reads the way it does: a category is up to tens of GB, so review texts are never held.
One streaming pass (:mod:`itdr_hf.readers.jsonl`: zlib in a thread, pyarrow's JSON parser) keeps per
review only its ids (pandas categoricals: int32 codes + one copy of each id string), rating,
time and line number; :class:`ReviewTexts` reads the few reviews a subtask shows in a second
pass. Bad lines are skipped and counted (``max_bad_line_fraction``). A category past
``amazon_spill_rows`` reviews goes to disk grouped by user and is worked on a group at a time
(:class:`_Reviews`), so the read's memory does not grow with the largest category. Meta rows keep
their id and two codes for their category path and brand (:class:`_Looks`); their titles, needed
only for the titled set before the reviews and the items table after them, go to disk past
``amazon_spill_rows`` too (:class:`~itdr_hf.readers.spill.ArrayRun`) and are read back in file order.

Most reviews are by users who never qualify for a user-history cell (on synthetic data ~80%), so
after each category is read only its users with enough titled reviews there keep theirs
(``amazon_early_filter``, :func:`early_filter_minimum`); the meta files are read first for the
titles. What needs every review gets it exactly from :class:`_AmazonRows`: per-(category, item)
counts taken before the drop (item pools, popularity, TUI's writers and raters), and the rows of
TUI's chosen items read again from the files.

Terms: no license is stated (the Hub card has none); treat as research-only, do not
redistribute. Cite Hou et al. (2024).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..config import BuildConfig
from ..errors import ConfigError, DataError
from ..heap import release_free_memory
from ..index import arrow_strings, codes_of
from ..readers.budget import BadLines
from ..readers.jsonl import iter_lines_at, read_jsonl
from ..readers.spill import BUCKETS, ArrayRun, KeyGroups, mapped, positions_in
from ..tables import AllRows, SourceTables, TextStore
from ..text import clean
from .base import RemoteFile, Source, register_source

HOU_2024 = """@article{hou2024bridging,
  title={Bridging Language and Items for Retrieval and Recommendation},
  author={Hou, Yupeng and Li, Jiacheng and He, Zhankui and Yan, An and Chen, Xiusi and McAuley, Julian},
  journal={arXiv preprint arXiv:2403.03952},
  year={2024}
}"""

RAW = "https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_2023/raw"
PAPER_CATEGORIES = (
    "Appliances", "Arts_Crafts_and_Sewing", "Baby_Products", "All_Beauty", "CDs_and_Vinyl", "Amazon_Fashion",
    "Grocery_and_Gourmet_Food", "Home_and_Kitchen", "Industrial_and_Scientific", "Musical_Instruments",
    "Software", "Video_Games",
)
REVIEW_SCHEMA = pa.schema(
    [("user_id", pa.string()), ("parent_asin", pa.string()), ("rating", pa.float32()), ("timestamp", pa.int64())]
)
# What the first pass keeps of a review until its user's rows are together (spilled to disk past
# ``amazon_spill_rows``): the user id, the row's place among the category's item codes, rating,
# seconds and line number.
SPILL_SCHEMA = pa.schema(
    [("user_id", pa.string()), ("row", pa.uint32()), ("rating", pa.float32()), ("timestamp", pa.int64()),
     ("line", pa.uint32())]
)
META_SCHEMA = pa.schema(
    [
        ("parent_asin", pa.string()),
        ("title", pa.string()),
        ("main_category", pa.string()),
        ("categories", pa.list_(pa.string())),
        ("store", pa.string()),
        ("details", pa.struct([("Brand", pa.string()), ("Manufacturer", pa.string())])),
    ]
)
# What is kept of a meta row in memory: its :class:`_Looks` codes in place of the four columns they stand
# for (the title goes to the meta files' shared :class:`~itdr_hf.readers.spill.ArrayRun`).
KEPT_META_SCHEMA = pa.schema([("parent_asin", pa.string()), ("path", pa.int32()), ("details", pa.int32())])
# The second pass keeps a few lines of each block: small blocks (the first pass's are 32 MB, for
# pyarrow's parser) cut its resident memory by ~250 MB (blocks queued, joined and split) at no
# measurable cost in time. 1 MB rather than 4: the TUI cell's peak at 3 GB of synthetic input is
# 0.44 GB instead of ~0.50 (its re-read alone +70 MB instead of +100-140), for ~3 s more of re-read.
FETCH_BLOCK = 1 << 20
FIX = "download the category's files from https://amazon-reviews-2023.github.io/ (raw review and meta files)"
_CATEGORY = re.compile(r"^[A-Za-z0-9_]+$")


def parse_categories(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    wrong = [n for n in names if not _CATEGORY.match(n)]
    if not names or wrong:
        raise ConfigError(
            f"amazon_categories must be comma-separated file stems such as Video_Games, got {value!r}"
        )
    return list(dict.fromkeys(names))


@contextmanager
def system_memory_pool() -> Iterator[None]:
    """Parse with the system allocator: Arrow's default (mimalloc) keeps the pages of the parsed blocks
    after they are freed, ~60 bytes a review by the end of the read (and ~100 MB after a re-read of a
    few rows); the system allocator hands them back (with the pipeline's malloc_trim). Buffers
    remember their pool, so restoring is safe."""
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def category_file(root: Path, stem: str) -> Path | None:
    """``{stem}.jsonl.gz`` or a gunzipped / ``.json`` copy, whichever is there (gzip is recognised by content)."""
    return Source.file_in(root, f"{stem}.jsonl.gz")


@register_source
class Amazon2023(Source):
    name = "amazon_2023"
    title = "Amazon Reviews 2023"
    homepage = "https://amazon-reviews-2023.github.io/"
    license = "No license stated by McAuley Lab; research use, no redistribution"
    citation = HOU_2024
    required_files = tuple(f for c in PAPER_CATEGORIES for f in (f"{c}.jsonl.gz", f"meta_{c}.jsonl.gz"))
    folder_names = ("amazon_2023", "amazon-reviews-2023", "raw")
    remote = tuple(
        file
        for c in PAPER_CATEGORIES
        for file in (
            RemoteFile(f"{c}.jsonl.gz", f"{RAW}/review_categories/{c}.jsonl.gz"),
            RemoteFile(f"meta_{c}.jsonl.gz", f"{RAW}/meta_categories/meta_{c}.jsonl.gz"),
        )
    )
    demo_folder = "amazon_2023"
    # Its cells run in the build's process: forked workers copied the pages of the tables' heap they
    # touched (summed PSS 1.7x the parent's), and its costliest cell is the I/O-bound second pass.
    fork_cells = False

    def find_in(self, data_dir: Path) -> Path | None:
        """A folder with at least one category's review and meta file; ``read`` checks the rest."""
        for candidate in self.candidate_dirs(data_dir):
            if candidate.is_dir() and any(
                category_file(candidate, p.name.split(".")[0][len("meta_"):]) is not None
                for p in candidate.glob("meta_*.json*")
            ):
                return candidate
        return None

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        with system_memory_pool():
            return self._read(root, config)

    def _read(self, root: Path, config: BuildConfig) -> SourceTables:
        # the titles of the meta files, needed before the reviews (titled set) and after (items table) only
        with ArrayRun(pa.string(), config.amazon_spill_rows, what="the meta titles") as titles:
            return self._read_with(root, config, titles)

    def _read_with(self, root: Path, config: BuildConfig, titles: ArrayRun) -> SourceTables:
        categories = parse_categories(config.amazon_categories)
        files = {c: self._files(root, c) for c in categories}
        # the meta files first: the early filter counts titled reviews, so it needs the titles
        looks = _Looks()
        metas = [_read_meta(files[c][1], config, looks, titles) for c in categories]
        minimum = early_filter_minimum(config, self.name)
        titled = _titled_items(metas, titles) if minimum else None
        reviews = []
        for c in categories:
            reviews.append(_read_reviews(files[c][0], config, titled, minimum))
            release_free_memory()  # what this category's read freed, before the next one's peak lands on top
        users, user_maps = _unify([r.users[0] for r in reviews])
        items, item_maps = _unify([r.items[0] for r in reviews])
        n = sum(len(r.lines) for r in reviews)
        domain = np.concatenate([np.full(len(r.lines), k, dtype=np.int8) for k, r in enumerate(reviews)])
        interactions = pd.DataFrame(
            {
                "user": _categorical(_merged(reviews, "users", np.int32, n, lambda k, u: user_maps[k][u[1]]), users),
                "item": _categorical(_merged(reviews, "items", np.int32, n, lambda k, i: item_maps[k][i[1]]), items),
                "rating": _merged(reviews, "rating", np.float32, n),
                "timestamp": _merged(reviews, "timestamp", np.int64, n),
                "domain": pd.Categorical.from_codes(domain, categories=categories),
            },
            copy=False,
        )
        del domain
        # read back only for the few rows whose texts are shown: on disk past the spill limit (0.2 GB at 52M rows)
        lines = mapped(_merged(reviews, "lines", np.uint32, n), config.amazon_spill_rows, what="the reviews' line numbers")
        review_files = {c: files[c][0] for c in categories}
        all_rows = _AmazonRows(review_files, config, reviews, item_maps, interactions["item"].dtype, minimum) \
            if minimum else None
        skipped = [r.skipped for r in reviews]
        del reviews  # the per-category copies; the frame holds the merged ones
        meta_skipped = [m.skipped for m in metas]
        release_free_memory()  # the merge's per-category copies, before the items table
        item_table = _items(items, _first_domains(len(items), item_maps, len(categories)), categories, metas, looks, titles,
                            config.amazon_spill_rows)
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=item_table,
            texts=ReviewTexts(review_files, interactions, lines, all_rows),
            rating_scale=(1.0, 5.0),
            rating_decimals=0,
            item_noun="product",
            skipped_lines=(*skipped, *meta_skipped),
            all_rows=all_rows,
        )

    def _files(self, root: Path, category: str) -> tuple[Path, Path]:
        found = category_file(root, category), category_file(root, f"meta_{category}")
        for path, stem in zip(found, (category, f"meta_{category}")):
            if path is None:
                raise DataError(
                    root / f"{stem}.jsonl.gz",
                    f"file not found (category {category!r} is in amazon_categories)",
                    fix=f"{FIX}, or drop {category} from --amazon-categories",
                )
        return found  # type: ignore[return-value]


# The subtasks whose cells stay exact when sparse users' reviews are dropped at read time: the
# user-history cells only use users above their minimums, and TUI counts every row (AllRows).
USER_HISTORY_SUBTASKS = ("top_k_recommendation", "next_item_recommendation", "cross_domain_recommendation")
FILTER_SAFE_SUBTASKS = (*USER_HISTORY_SUBTASKS, "target_user_identification")


def early_filter_minimum(config: BuildConfig, source: str = "amazon_2023") -> int:
    """The fewest titled reviews in one category that any user-history cell needs of a user; 0: keep every review.

    With ``cap_per_domain``, TKR and NIR run inside each category (``cells._examples``) and need
    ``tkr_history + tkr_positives`` and NIR's history + 1 there; CDR needs ``cdr_history`` in its
    source category and more in its target. A user below the least of them in a category is in no
    such cell through it, so their reviews there are dropped. Not exact, so every review is kept:
    without ``cap_per_domain`` (TKR and NIR add a user's categories up), with rater notes (TUI's
    ``raters`` evidence reads its raters' whole histories), or when a subtask beyond the paper's
    four is built from the source (it may need any row). ``source``: the reader's name (a subclass's own).
    """
    from ..matrix import sources_of
    from ..subtasks import SUBTASKS
    from ..subtasks.next_item_recommendation import history_length

    if config.amazon_early_filter == "off" or not config.cap_per_domain or config.tui_evidence == "raters":
        return 0
    if any(source in sources_of(name) for name in SUBTASKS.names() if name not in FILTER_SAFE_SUBTASKS):
        return 0
    return min(
        config.tkr_history + config.tkr_positives, history_length(config, source) + 1, config.cdr_history
    )


class _Reviews:
    """One category's reviews: per-row codes into its own id lists, and what else the tables keep.

    With ``minimum`` (:func:`early_filter_minimum`), only the rows of users with that many
    ``titled`` reviews in the category are kept; ``item_rows`` counts every row per item.

    Why in groups of users: de-duplication and the filter need all of a user's rows together,
    and a big category's rows do not fit in memory at once (Home_and_Kitchen: 67M reviews by 23M
    users, ~50 bytes a review and every user id held while they were worked on). Past
    ``amazon_spill_rows`` reviews the rows go to disk by user (:class:`~itdr_hf.readers.spill.KeyGroups`)
    and come back a group of users at a time; only the kept rows and the item ids stay. The
    result is the same however the users are grouped: rows end in file order.
    """

    def __init__(self, path: Path, config: BuildConfig, titled: pa.Array | None = None, minimum: int = 0) -> None:
        bad = BadLines(path, config.max_bad_line_fraction, fix=FIX)
        items = _Encoder()
        rows = 0
        with KeyGroups("user_id", config.amazon_spill_rows, what=f"the reviews of {path.name}") as by_user:
            for parsed in read_jsonl(path, REVIEW_SCHEMA, bad, required=REVIEW_SCHEMA.names):
                table = parsed.table
                items.add(table.column("parent_asin"))
                by_user.add(
                    pa.table(
                        {
                            "user_id": table.column("user_id"),
                            "row": np.arange(rows, rows + len(table), dtype=np.uint32),  # into the item codes
                            "rating": table.column("rating"),
                            "timestamp": table.column("timestamp").to_numpy() // 1000,  # ms → s
                            "line": parsed.lines.astype(np.uint32),  # 4 bytes a review; categories have < 4G lines
                        },
                        schema=SPILL_SCHEMA,
                    )
                )
                rows += len(table)
                del table, parsed  # the block's other columns: only these rows outlive it
            self.skipped = bad.summary()
            self.items = items.finish()
            n_items = len(self.items[0])
            # every titled item of every category as the value set: matched a hash part at a time (positions_in)
            item_titled = positions_in(self.items[0], titled) >= 0 if minimum else None
            self.read = 0
            self.item_rows = np.zeros(n_items, dtype=np.int64)
            kept = [self._users_rows(group, n_items, item_titled, minimum) for group in by_user.groups()]
        self._join(kept)
        self.dropped = self.read - len(self.lines)

    def _users_rows(self, group: pa.Table, n_items: int, item_titled: np.ndarray | None, minimum: int) -> tuple:
        """The kept rows of a group holding every row of its users: (user ids, codes into them, item codes, rating,
        time, line). A user's repeated reviews of an item count once (:func:`first_reviews`); with ``minimum``,
        users with fewer titled reviews here lose theirs, and leave the id list (their strings were most of it)."""
        encoded = group.column("user_id").dictionary_encode()  # a chunked column shares one dictionary
        users, user_codes = encoded.chunk(0).dictionary, _indices(encoded.chunks)
        del encoded
        item_codes = self.items[1][group.column("row").to_numpy()]
        rating, timestamp = group.column("rating").to_numpy(), group.column("timestamp").to_numpy()
        lines = group.column("line").to_numpy()
        del group
        keep = first_reviews(user_codes, item_codes, n_items, timestamp)
        if keep is not None:
            user_codes, item_codes, rating, timestamp, lines = (a[keep] for a in (user_codes, item_codes, rating, timestamp, lines))
        self.read += len(lines)
        self.item_rows += np.bincount(item_codes, minlength=n_items)
        if minimum:
            per_user = np.bincount(user_codes[item_titled[item_codes]], minlength=len(users))
            kept_users = per_user >= minimum
            keep = kept_users[user_codes]
            new_code = (np.cumsum(kept_users) - 1).astype(np.int32)
            users, user_codes = users.filter(pa.array(kept_users)), new_code[user_codes[keep]]
            item_codes, rating, timestamp, lines = (a[keep] for a in (item_codes, rating, timestamp, lines))
        return users, user_codes, item_codes, rating, timestamp, lines

    def _join(self, kept: list[tuple]) -> None:
        """The groups' kept rows as one category, in file order. The user id list is in group order: only
        :func:`_unify`, which sorts it, reads it.

        A column at a time: its groups' parts go as it is joined and put in file order, so the rows are held
        about once, plus one column three times (parts, joined, ordered). Joining every column before
        ordering any held them twice, and then each ordered copy: +1.15 GB on Home_and_Kitchen's 25M kept
        rows at the paper's size, the read's peak."""
        offsets = np.cumsum([0] + [len(k[0]) for k in kept])
        users = pa.chunked_array([k[0] for k in kept], type=pa.string()).combine_chunks()
        parts = [[k[i] for k in kept] for i in range(1, 6)]  # per column: user codes, items, rating, time, line
        kept.clear()
        for k, offset in enumerate(offsets[:-1]):  # codes into the joined user list
            parts[0][k] = parts[0][k].astype(np.int32) + np.int32(offset)
        lines = _joined(parts[4], np.uint32)
        order = np.argsort(lines, kind="stable")  # line numbers: file order
        lines = lines[order]
        columns = []
        for column, dtype in zip(parts[:4], (np.int32, np.int32, np.float32, np.int64)):
            joined = _joined(column, dtype)  # empties ``column``: its parts go
            columns.append(joined[order])
            del joined
        self.users = (users, columns[0])
        self.items = (self.items[0], columns[1])
        self.rating, self.timestamp, self.lines = columns[2], columns[3], lines


def first_reviews(
    user_codes: np.ndarray, item_codes: np.ndarray, n_items: int, timestamp: np.ndarray
) -> np.ndarray | None:
    """Which rows to keep so that a user's repeated reviews of one item (variants, re-purchases)
    count once, at the earliest, ties in file order; None: nothing repeats.

    Kept twice, the item could sit in a history and among the positives while sampled
    negatives never do: a shortcut a model would learn instead of the user's taste. The first
    pass and the re-read of TUI's items both apply this one rule, so they keep the same rows.

    Memory: one sorted copy of the (user, item) keys finds the repeated ones; only their
    rows are ordered by time (a full time sort plus a hash of every key cost ~45 bytes a
    review, 3 GB on Home_and_Kitchen's 67M).
    """
    key = user_codes.astype(np.int64) * max(n_items, 1) + item_codes
    ordered = np.sort(key)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    if not len(repeated):
        return None
    repeated = np.unique(repeated)
    at = np.minimum(np.searchsorted(repeated, key), len(repeated) - 1)
    rows = np.flatnonzero(repeated[at] == key)  # every row of a repeated pair, in file order
    del at
    # the earliest of each pair, ties in file order: a stable sort by time, then first of each key
    order = rows[np.argsort(timestamp[rows], kind="stable")]
    first = order[~pd.Series(key[order]).duplicated().to_numpy()]
    keep = np.ones(len(key), dtype=bool)
    keep[rows] = False
    keep[first] = True
    return keep


def _merged(reviews: list[_Reviews], column: str, dtype: type, n: int, convert=None) -> np.ndarray:
    """One column of every category's kept rows, filled a category at a time; each category's copy goes once it is
    in (concatenated, the copies and the merged column were held together: twice the kept rows)."""
    out = np.empty(n, dtype=dtype)
    start = 0
    for k, r in enumerate(reviews):
        values = getattr(r, column)
        values = convert(k, values) if convert else values
        out[start:start + len(values)] = values
        start += len(values)
        setattr(r, column, None)
        del values
    return out


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """The blocks' arrays as one, emptying the list: kept until the category is done (its de-duplication
    and filter), the blocks doubled its rows' memory (Home_and_Kitchen: ~1 GB)."""
    joined = np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)
    parts.clear()
    return joined


def _read_reviews(path: Path, config: BuildConfig, titled: pa.Array | None = None, minimum: int = 0) -> _Reviews:
    return _Reviews(path, config, titled, minimum)


class _Encoder:
    """Each row's int32 code into the distinct ids (first-seen order), block by block (a category's item ids).

    A block keeps only its own distinct ids and its rows' codes into them, so the row strings are
    never all held. The blocks' id lists are merged into the ids seen so far whenever they hold
    more ids than those (and at the end), in order, which gives the codes of one first-seen
    dictionary encoding of the whole column. Merging only at the end held every block's list
    until then: nearly one string a review for users (~32 bytes), who rarely repeat in a block;
    now the strings held are at most twice the distinct ids.
    """

    MIN_MERGE = 1 << 20  # ids pending before the first merge: small files merge once, at the end

    def __init__(self) -> None:
        self.seen: pa.Array | None = None
        self.pending: list[pa.Array] = []
        self.pending_codes: list[np.ndarray] = []
        self.pending_ids = 0
        self.codes: list[np.ndarray] = []

    def add(self, column: pa.ChunkedArray) -> None:
        encoded = column.dictionary_encode()  # a chunked column shares one dictionary
        if not len(encoded):
            return
        distinct = encoded.chunk(0).dictionary
        self.pending.append(distinct)
        self.pending_codes.append(_indices(encoded.chunks))
        self.pending_ids += len(distinct)
        if self.pending_ids > max(self.MIN_MERGE, len(self.seen) if self.seen is not None else 0):
            self._merge()

    def _merge(self) -> None:
        first = [] if self.seen is None else [self.seen]
        merged = pa.chunked_array(first + self.pending, type=pa.string()).dictionary_encode()
        positions = _indices(merged.chunks)[len(self.seen) if self.seen is not None else 0:]
        self.seen = merged.chunk(0).dictionary
        offset = 0
        for distinct, local in zip(self.pending, self.pending_codes):
            self.codes.append(positions[offset:offset + len(distinct)][local])
            offset += len(distinct)
        self.pending, self.pending_codes, self.pending_ids = [], [], 0

    def finish(self) -> tuple[pa.Array, np.ndarray]:
        if self.pending:
            self._merge()
        if self.seen is None:
            return pa.array([], type=pa.string()), np.zeros(0, dtype=np.int32)
        seen, codes = self.seen, np.concatenate(self.codes)
        self.seen, self.codes = None, []
        return seen, codes


def _indices(chunks: list) -> np.ndarray:
    return np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks]).astype(np.int32, copy=False)


def _unify(per_category: list[pa.Array]) -> tuple[pd.Index, list[np.ndarray]]:
    """One sorted id list for all categories, and each category's ids' positions in it."""
    merged = _distinct(pa.chunked_array(per_category, type=pa.string()))
    merged = merged.take(pc.sort_indices(merged))
    maps = [positions_in(d, merged).astype(np.int32) for d in per_category]
    return pd.Index(merged.to_pandas(), dtype="str"), maps


def _distinct(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The distinct values in first-seen order, as ``pc.unique`` gives them (:func:`_first_rows`)."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return values.take(pa.array(_first_rows(values)))


def _first_rows(values: pa.Array) -> np.ndarray:
    """The row of each distinct value's first occurrence, in row order; matched a hash part at a time
    (:func:`~itdr_hf.readers.spill.positions_in`: Arrow's one table of 7.9M item ids is ~1 GB)."""
    first = positions_in(values, values)
    return np.flatnonzero(first == np.arange(len(first)))


def _first_domains(n_items: int, item_maps: list[np.ndarray], n_categories: int) -> np.ndarray:
    """Each item's first category (in config order) with a review of it; every id of a category's list has one."""
    first = np.full(n_items, n_categories, dtype=np.int16)
    for k in reversed(range(len(item_maps))):
        first[item_maps[k]] = k
    return first


def _categorical(codes: np.ndarray, categories: pd.Index) -> pd.Categorical:
    """Codes into ``categories`` (sorted, distinct: :func:`_unify` made them) without pandas' check.

    ``Categorical.from_codes`` checks the categories are distinct by hashing them as Python
    strings and keeps that table: ~90 bytes per user id, gigabytes for the 12 categories' users.
    """
    fastpath = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    if fastpath is None:  # pragma: no cover - a pandas without the private constructor: checked, as before
        return pd.Categorical.from_codes(codes, categories=categories)
    return pd.Categorical.from_codes(codes, dtype=fastpath(categories, False), validate=False)


def _codes_in(values: pd.Series, categories: pd.Index) -> np.ndarray:
    """Each value's position in ``categories`` (-1 where absent), hashed by Arrow, nothing kept.

    Only the (few) values are hashed; the categories (every user id) are scanned in their own
    buffer: hashing them, or casting pandas' large_string to string, cost ~40 bytes a user.
    """
    names = pa.array(categories.array)
    wanted = pa.array(np.asarray(values, dtype=object), type=names.type)
    distinct = pc.unique(wanted)
    where = pc.index_in(names, value_set=distinct).to_numpy(zero_copy_only=False)  # NaN where not wanted
    found = np.flatnonzero(~np.isnan(where)) if where.dtype.kind == "f" else np.arange(len(where))
    code_of = np.full(len(distinct) + 1, -1, dtype=np.int64)  # the last slot: a value that is null
    code_of[where[found].astype(np.int64)] = found
    position = pc.fill_null(pc.index_in(wanted, value_set=distinct), len(distinct)).to_numpy(zero_copy_only=False)
    return code_of[position]


class _Looks:
    """Each distinct category path and details dict an item can show, numbered once for every meta file.

    Why: held as Arrow columns, ``main_category``, ``categories``, ``store`` and ``details`` cost ~70
    bytes an item on synthetic meta (more on real pages) from the meta read to the items table, and
    most items share their path and many their brand; an item keeps two int32 codes instead. Equal
    lists and dicts are one object (nothing changes them: item views copy); code 0 is the empty one.
    """

    def __init__(self) -> None:
        self.paths: list[list] = [[]]
        self.details: list[dict] = [{}]
        self._path_code: dict[tuple, int] = {(): 0}
        self._details_code: dict[tuple, int] = {(): 0}

    def codes(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """The path and details codes of every row of a meta block (Python objects for one block at a time).

        Codes are looked up first and the few new paths and dicts made afterwards, from their rows
        alone: made among the block's temporaries, each long-lived object kept a page of them from
        being handed back (~100 bytes an item more after the read).
        """
        paths, details, new = self._lookup(table, make=False)
        if len(new):
            paths[new], details[new], _ = self._lookup(table.take(pa.array(new)), make=True)
        return paths, details

    def _lookup(self, table: pa.Table, make: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        main, lists, stores, extra = (
            table.column(c).to_pylist() for c in ("main_category", "categories", "store", "details")
        )
        paths = np.empty(len(main), dtype=np.int32)
        details = np.empty(len(main), dtype=np.int32)
        for k in range(len(main)):
            path = tuple(c for c in (lists[k] or []) if c) or ((main[k],) if main[k] else ())
            found = _details(extra[k] or {}, stores[k])
            if make:
                paths[k] = self._code(path, self._path_code, self.paths, list(path))
                details[k] = self._code(tuple(found.items()), self._details_code, self.details, found)
            else:
                paths[k] = self._path_code.get(path, -1)
                details[k] = self._details_code.get(tuple(found.items()), -1)
        return paths, details, np.flatnonzero((paths < 0) | (details < 0))

    @staticmethod
    def _code(key: tuple, codes: dict, values: list, value) -> int:
        code = codes.get(key)
        if code is None:
            code = codes[key] = len(values)
            values.append(value)
        return code


class _Meta:
    """One meta file: per row its ``parent_asin`` and :class:`_Looks` codes (``path``, ``details``); its raw titles
    are added, in row order, to the run shared by every meta file (``titles``)."""

    def __init__(self, path: Path, config: BuildConfig, looks: _Looks, titles: ArrayRun) -> None:
        bad = BadLines(path, config.max_bad_line_fraction, fix=FIX)
        tables = []
        for parsed in read_jsonl(path, META_SCHEMA, bad, required=("parent_asin",)):
            paths, details = looks.codes(parsed.table)
            titles.add(parsed.table.column("title"))
            tables.append(pa.table({"parent_asin": parsed.table.column("parent_asin"), "path": paths,
                                    "details": details}, schema=KEPT_META_SCHEMA))
            del parsed
        self.table = pa.concat_tables(tables) if tables else KEPT_META_SCHEMA.empty_table()
        self.skipped = bad.summary()


def _read_meta(path: Path, config: BuildConfig, looks: _Looks, titles: ArrayRun) -> _Meta:
    return _Meta(path, config, looks, titles)


def _titled_items(metas: list[_Meta], titles: ArrayRun) -> pa.Array:
    """The items whose first meta row (the one :func:`_items` keeps) has a title left after cleaning, as the index
    counts titled interactions (``SourceIndex.titled_interactions``). Titles are read in file order, a block at a time."""
    keys = pa.chunked_array([m.table.column("parent_asin") for m in metas], type=pa.string()).combine_chunks()
    first = _first_rows(keys)  # each item's first row, in first-seen order: ascending
    distinct = keys.take(pa.array(first))
    del keys
    titled = np.zeros(len(distinct), dtype=bool)
    for at, raw in _titles_at(titles, first):
        titled[at] = [bool(clean(_meta_title(t))) for t in raw.to_pylist()]
    return distinct.filter(pa.array(titled))


def _titles_at(titles: ArrayRun, rows: np.ndarray) -> Iterator[tuple[np.ndarray, pa.Array]]:
    """The titles of meta ``rows`` (ascending row numbers over the meta files one after the other), a block of the
    run at a time: (their places in ``rows``, their raw titles)."""
    start = 0
    for block in titles.arrays():
        low, high = np.searchsorted(rows, [start, start + len(block)])
        if high > low:
            yield np.arange(low, high), block.take(pa.array(rows[low:high] - start))
        start += len(block)


def _meta_codes(metas: list[_Meta], column: str) -> np.ndarray:
    """A :class:`_Looks` code column of the meta files one after the other (4 bytes a row, one copy)."""
    return np.concatenate([m.table.column(column).to_numpy() for m in metas] or [np.zeros(0, dtype=np.int32)])


def _meta_title(title: str | None) -> str:
    """An item's title as the items table holds it; :func:`_titled_items` must read titles the same way."""
    return " ".join((title or "").split())


def _items(
    items: pd.Index, first_domain: np.ndarray, categories: list[str], metas: list[_Meta], looks: _Looks,
    titles: ArrayRun, limit: int,
) -> pd.DataFrame:
    """One row per reviewed item; its domain is the first category (in config order) it was reviewed in.

    Empties ``metas``: the meta tables go once the items' columns are taken from them. ``limit``:
    titles held in memory while they are put in item order (``amazon_spill_rows``).
    """
    keys = pa.array(items.array, type=pa.string())  # zero-copy: no Python string per item
    # the first meta row of an item wins (an item listed in two categories' meta files)
    value_set = pa.chunked_array([m.table.column("parent_asin") for m in metas], type=pa.string())
    position = positions_in(keys, value_set).astype(np.int32)  # meta rows: fewer than 2**31
    del keys, value_set
    found = np.flatnonzero(position >= 0)
    at = position[found]
    path = np.zeros(len(items), dtype=np.int32)
    detail = np.zeros(len(items), dtype=np.int32)
    path[found] = _meta_codes(metas, "path")[at]
    detail[found] = _meta_codes(metas, "details")[at]
    del found, at
    metas.clear()
    return pd.DataFrame(
        {
            "title": pd.array(_item_titles(position, titles, limit), dtype="str"),
            "categories": _objects(looks.paths)[path],
            "details": _objects(looks.details)[detail],
            "domain": pd.Categorical.from_codes(
                np.where(first_domain < len(categories), first_domain, -1), categories=categories
            ),
        },
        index=pd.Index(items, name="item"),
        copy=False,  # pandas 3 copies a dict's arrays and stacks the object columns: ~0.25 GB at 7.9M items
    )


TITLE_GROUP = 1 << 18  # titles put in item order at once, at most, once they are spilled (:func:`_item_titles`)


def _item_titles(position: np.ndarray, titles: ArrayRun, limit: int) -> pa.ChunkedArray:
    """Each item's cleaned title (its meta row's ``position``; -1: no meta, no title), in item order.

    Why through :class:`~itdr_hf.readers.spill.KeyGroups`: the titles come in file order (from disk,
    a block at a time, once spilled) and the items are in id order. Cleaned titles go to buckets by
    item range, on disk past ``limit``, and come back a range at a time, put in order into the
    column they end in. Holding every block's cleaned titles in memory until their range was
    complete kept ~1.8 GB for the paper's 7.9M items: freed in small pieces, their memory could not
    be reused for the column.
    """
    n = len(position)
    found = np.flatnonzero(position >= 0).astype(np.int32)
    by_row = found[np.argsort(position[found], kind="stable")]  # the items in the order of their meta rows
    del found
    missing = np.flatnonzero(position < 0).astype(np.int32)  # their title is ""
    of_range = lambda table: table.column("item").to_numpy().astype(np.int64) * BUCKETS // max(n, 1)  # noqa: E731
    # a range of items at a time is read back, copied once whole and once in order: kept to TITLE_GROUP rows
    with KeyGroups("item", limit and min(limit, TITLE_GROUP), what="the items' titles", buckets_of=of_range) as by_item:
        by_item.add(pa.table({"item": missing, "title": pa.array([""] * len(missing), type=pa.string())}))
        for at, raw in _titles_at(titles, position[by_row]):
            cleaned = pa.array([_meta_title(t) for t in raw.to_pylist()], type=pa.string())
            by_item.add(pa.table({"item": by_row[at], "title": cleaned}))
            del cleaned
        chunks = []
        for group in by_item.groups():  # consecutive ranges of items, every item of each in it
            order = np.argsort(group.column("item").to_numpy(), kind="stable")
            chunks.append(group.column("title").take(pa.array(order)).combine_chunks())
            del group
    return pa.chunked_array(chunks, type=pa.string())


def _objects(values: list) -> np.ndarray:
    """``values`` as a one-dimensional object array (``np.array`` would make a list of lists two-dimensional)."""
    out = np.empty(len(values), dtype=object)
    for k, value in enumerate(values):
        out[k] = value
    return out


def _details(details: dict, store: str | None) -> dict:
    out = {}
    brand = details.get("Brand") or store
    if brand:
        out["Brand"] = " ".join(brand.split())
    maker = details.get("Manufacturer")
    if maker and maker != brand:
        out["Manufacturer"] = " ".join(maker.split())
    return out


class _AmazonRows(AllRows):
    """Every review read, for a read that dropped sparse users' reviews (:func:`early_filter_minimum`).

    Counts are taken per category before the drop; rows are read again from the files, a pass
    that keeps only the rows asked for (:meth:`rows_of`: target user identification's chosen items).
    """

    def __init__(
        self, files: dict[str, Path], config: BuildConfig, reviews: list[_Reviews], item_maps: list[np.ndarray],
        item_dtype: pd.CategoricalDtype, minimum: int,
    ) -> None:
        self.files, self.config = files, config
        self.reread: pd.DataFrame | None = None  # the rows :meth:`rows_of` read last, for ReviewTexts.fetch
        counts = pd.DataFrame(
            {
                "domain": pd.Categorical.from_codes(
                    np.concatenate([np.full(len(m), k, dtype=np.int8) for k, m in enumerate(item_maps)]),
                    categories=list(files),
                ),
                "item": pd.Categorical.from_codes(np.concatenate(item_maps), dtype=item_dtype, validate=False),
                "rows": np.concatenate([r.item_rows for r in reviews]).astype(np.int64),
            }
        )
        super().__init__(
            counts, self._writers(counts), read=sum(r.read for r in reviews), dropped=sum(r.dropped for r in reviews),
            reason=f"reviews of users with fewer than {minimum} titled reviews in their category, the fewest any "
            "user-history cell there needs (amazon_early_filter)",
        )

    def _writers(self, counts: pd.DataFrame) -> pd.Series:
        """Distinct users per item. A category's reviews of an item are by distinct users (``_keep_first_review``),
        so they add up over categories, except for an item reviewed in two: its users are read again."""
        items = counts["item"].cat
        codes, n_items = codes_of(counts["item"]), len(items.categories)
        writers = np.bincount(codes, weights=counts["rows"].to_numpy(), minlength=n_items).astype(np.int64)
        shared = np.flatnonzero(np.bincount(codes, minlength=n_items) > 1)
        if len(shared):
            rows = self.rows_of(items.categories[shared].to_numpy())
            distinct = rows[["item", "user"]].drop_duplicates().groupby("item", observed=True).size()
            writers[shared] = distinct.reindex(items.categories[shared]).fillna(0).to_numpy()
            self.reread = None
        present = np.flatnonzero(writers)
        index = pd.CategoricalIndex(pd.Categorical.from_codes(present, dtype=counts["item"].dtype), name="item")
        return pd.Series(writers[present], index=index, name="user")

    def rows_of(self, items: np.ndarray) -> pd.DataFrame:
        wanted = pa.array(np.asarray(items, dtype=object), type=pa.string())
        parts = []
        for code, path in enumerate(self.files.values()):
            with system_memory_pool():
                parts.append(self._category_rows(code, path, wanted))
            release_free_memory()  # the category's parsed blocks
        frame = pd.concat(parts, ignore_index=True)
        frame["user"] = pd.Categorical(frame["user"])  # sorted categories, as the interactions' ids are
        frame["item"] = pd.Categorical(frame["item"])
        frame["domain"] = pd.Categorical.from_codes(frame["domain"].to_numpy(), categories=list(self.files))
        self.reread = frame
        return frame

    def _category_rows(self, code: int, path: Path, wanted: pa.Array) -> pd.DataFrame:
        """The rows of the wanted items in one category, de-duplicated as the first pass does, in file order."""
        tables, lines = [], []
        for table, numbers in self._scan(path, wanted):
            tables.append(table)
            lines.append(numbers)
        table = pa.concat_tables(tables) if tables else REVIEW_SCHEMA.empty_table()
        frame = pd.DataFrame(
            {
                "user": table.column("user_id").to_pylist(),
                "item": table.column("parent_asin").to_pylist(),
                "rating": table.column("rating").to_numpy().astype(np.float32),
                "timestamp": (table.column("timestamp").to_numpy() // 1000).astype(np.int64),
                "domain": np.full(len(table), code, dtype=np.int8),
                "line": np.concatenate(lines).astype(np.uint32) if lines else np.zeros(0, np.uint32),
            }
        )
        users, items = pd.factorize(frame["user"])[0], pd.factorize(frame["item"])
        keep = first_reviews(users, items[0], len(items[1]), frame["timestamp"].to_numpy())
        return frame if keep is None else frame[keep]

    def _scan(self, path: Path, wanted: pa.Array):
        """The rows of the wanted items in one review file and their line numbers, block by block; parsed
        as the first pass parses, so the same lines are good or bad."""
        if not len(wanted):
            return
        bad = BadLines(path, self.config.max_bad_line_fraction, fix=FIX)
        # small blocks, as the text pass's: it keeps a few rows of each, on top of the tables and cells
        for parsed in read_jsonl(path, REVIEW_SCHEMA, bad, required=REVIEW_SCHEMA.names, block_size=FETCH_BLOCK):
            hit = pc.is_in(parsed.table.column("parent_asin"), value_set=wanted)
            found = hit.to_numpy(zero_copy_only=False) if len(parsed.table) else np.zeros(0, dtype=bool)
            if found.any():
                yield parsed.table.filter(hit), parsed.lines[found]

    def users_in_two_domains(self, titled: np.ndarray | pd.Index) -> bool:
        wanted = arrow_strings(titled)
        wanted = pa.array(np.asarray(titled, dtype=object), type=pa.string()) if wanted is None else wanted.cast(pa.string())
        seen = pa.array([], type=pa.string())
        for path in self.files.values():
            with system_memory_pool():
                users = [pc.unique(table.column("user_id")) for table, _ in self._scan(path, wanted)]
            users = pc.unique(pa.chunked_array(users, type=pa.string()))
            if len(seen) and pc.any(pc.is_in(users, value_set=seen)).as_py():
                return True
            seen = pc.unique(pa.chunked_array([seen, users]))
        return False


class ReviewTexts(TextStore):
    """Review texts left in the category files; :meth:`fetch` reads back only the lines asked for.

    ``all_rows``: set when the read dropped sparse users' reviews; their texts are found among the
    rows it read again (:meth:`_AmazonRows.rows_of`).
    """

    _BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)

    def __init__(
        self, files: dict[str, Path], interactions: pd.DataFrame, lines: np.ndarray, all_rows: _AmazonRows | None = None
    ) -> None:
        self.files = files
        self.interactions = interactions
        self.lines = lines
        self.all_rows = all_rows

    def authors(self) -> pd.DataFrame:
        return self.interactions[["user", "item", "rating", "timestamp"]]

    @property
    def empty(self) -> bool:
        return len(self.interactions) == 0 and (self.all_rows is None or self.all_rows.read == 0)

    def fetch(self, pairs: pd.DataFrame) -> pd.DataFrame:
        rows = self._kept_rows(pairs)
        reread = None if self.all_rows is None else self.all_rows.reread
        if reread is not None:
            keys = pd.MultiIndex.from_frame(pairs[["user", "item"]].astype(str))
            mine = reread[pd.MultiIndex.from_arrays([reread["user"].astype(str), reread["item"].astype(str)]).isin(keys)]
            found = pd.DataFrame({"domain": codes_of(mine["domain"]), "line": mine["line"].to_numpy(),
                                  "user": mine["user"].astype(str).to_numpy(), "item": mine["item"].astype(str).to_numpy()})
            rows = pd.concat([rows, found], ignore_index=True).drop_duplicates(["domain", "line"])
        out = []
        for code, path in enumerate(self.files.values()):
            mine = rows[rows["domain"].to_numpy() == code]
            if not len(mine):
                continue
            by_line = dict(zip(mine["line"].tolist(), zip(mine["user"].tolist(), mine["item"].tolist())))
            for number, raw in iter_lines_at(path, np.fromiter(by_line, dtype=np.int64), block_size=FETCH_BLOCK):
                user, item = by_line[number]
                out.append((user, item, self._text(path, number, raw)))
        return pd.DataFrame(out, columns=["user", "item", "text"])

    def _kept_rows(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """The kept interactions of the given (user, item) pairs: ``domain`` code, ``line``, ``user``, ``item``."""
        inter = self.interactions
        users, items = inter["user"].cat, inter["item"].cat
        user_codes, item_codes = codes_of(inter["user"]), codes_of(inter["item"])  # no copies (0.2 GB each at 52M rows)
        n_items = len(items.categories)
        want_user = _codes_in(pairs["user"], users.categories)
        want_item = _codes_in(pairs["item"], items.categories)
        found = (want_user >= 0) & (want_item >= 0)
        wanted = np.unique(want_user[found] * n_items + want_item[found])
        # only rows of a wanted item get a key: a full int64 key column and np.isin over it cost
        # ~30 bytes a review, where a per-item flag costs one
        of_item = np.zeros(n_items + 1, dtype=bool)
        of_item[want_item[found]] = True
        rows = np.flatnonzero(of_item[item_codes])
        keys = user_codes[rows].astype(np.int64) * n_items + item_codes[rows]
        rows = rows[np.isin(keys, wanted)]
        return pd.DataFrame(
            {
                "domain": codes_of(inter["domain"])[rows],
                "line": self.lines[rows],
                "user": users.categories[user_codes[rows]].to_numpy(dtype=object),
                "item": items.categories[item_codes[rows]].to_numpy(dtype=object),
            }
        )

    def _text(self, path: Path, number: int, raw: bytes) -> str:
        try:
            record = json.loads(raw)
        except ValueError:
            raise DataError(
                path, "line no longer parses: the file changed while the build read it", line=number,
                fix="build again from an unchanged copy",
            ) from None
        text = record.get("text") or record.get("title") or ""
        return " ".join(self._BREAK.sub(" ", str(text)).split())
