"""MovieLens 32M (GroupLens), and any MovieLens release in the same CSV layout.

Homepage: https://grouplens.org/datasets/movielens/32m/ — 32,000,204 ratings and 2,000,072
tags by 200,948 users on 87,585 movies (1995–2023). Files (UTF-8, RFC 4180 quoting, header):
``ratings.csv userId,movieId,rating,timestamp`` (half stars 0.5–5.0, Unix seconds),
``movies.csv movieId,title,genres`` (title carries the year, genres ``|``-separated,
``(no genres listed)`` for none), ``tags.csv userId,movieId,tag,timestamp``, ``links.csv``.
``ml-latest-small`` and ``ml-25m`` share the layout, so ``--data-dir`` may point at them.
A malformed row (field count, an empty or non-numeric id or value) is a counted bad line within
``--max-bad-line-fraction``, never a null that would turn every id into float text; titles
without a trailing ``(YYYY)`` (``(1983))``, ``(2006–2007)``, none) get no year and are counted.

Terms: research use, no redistribution without permission (ml-latest-small alone may be
redistributed under its own terms); cite Harper & Konstan (2015). The builder downloads the
zip and checks it against the MD5 file GroupLens publishes beside it.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pyarrow as pa

from ..config import BuildConfig
from ..readers.budget import BadLines, Degraded
from ..readers.delimited import read_csv_table
from ..tables import FrameTextStore, SourceTables
from .base import RemoteArchive, Source, has_rows, register_source

HARPER_KONSTAN = """@article{harper2015movielens,
  title={The MovieLens Datasets: History and Context},
  author={Harper, F. Maxwell and Konstan, Joseph A.},
  journal={ACM Transactions on Interactive Intelligent Systems},
  volume={5}, number={4}, pages={19:1--19:19}, year={2015}, doi={10.1145/2827872}
}"""

_YEAR = re.compile(r"\((\d{4})\)\s*$")
NO_GENRES = "(no genres listed)"
TOP_TAGS = 5


def split_genres(genres: pd.Series, separator: str = "|") -> pd.Series:
    return genres.map(lambda g: [x for x in g.split(separator) if x and x != NO_GENRES])


def title_year(titles: pd.Series, degraded: Degraded | None = None) -> pd.Series:
    """The trailing ``(YYYY)`` of each title; titles without one (``(1983))``, ``(2006–2007)``,
    none at all) get no year, and are counted in ``degraded`` when given."""
    years = titles.map(lambda t: (m.group(1) if (m := _YEAR.search(t)) else ""))
    if degraded is not None:
        degraded.seen += len(titles)
        for title in titles[years == ""].tolist():
            degraded.add(None, repr(title))
    return years


def no_year(path: Path) -> Degraded:
    return Degraded(path, "title has no trailing (YYYY): year left empty")


@register_source
class MovieLens32M(Source):
    name = "movielens_32m"
    title = "MovieLens 32M"
    homepage = "https://grouplens.org/datasets/movielens/32m/"
    license = "GroupLens research license: research use only, no redistribution without permission"
    citation = HARPER_KONSTAN
    required_files = ("ratings.csv", "movies.csv")
    folder_names = ("ml-32m",)
    remote = RemoteArchive(
        url="https://files.grouplens.org/datasets/movielens/ml-32m.zip",
        md5_url="https://files.grouplens.org/datasets/movielens/ml-32m.zip.md5",
    )
    demo_folder = "ml-32m"
    optional_files: ClassVar[dict[str, str]] = {
        "tags.csv": "no user tags: movies have no tags, and target user identification describes raters "
        "(tui_evidence 'auto') instead of showing their tags",
    }
    fix = "download ml-32m.zip from https://grouplens.org/datasets/movielens/32m/ and unzip it"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        budget = {name: BadLines(root / name, config.max_bad_line_fraction, self.fix)
                  for name in ("ratings.csv", "movies.csv", "tags.csv")}
        ratings = [read_csv_table(
            root / "ratings.csv",
            {"userId": pa.int32(), "movieId": pa.int32(), "rating": pa.float32(), "timestamp": pa.int64()},
            fix=self.fix, bad=budget["ratings.csv"],
        )]
        names = {"userId": "user", "movieId": "item", "rating": "rating", "timestamp": "timestamp"}
        # Copying the ratings into NumPy keeps one core busy (memory, mostly): the movies and tags are
        # read on the other meanwhile. Their errors still come after the ratings', as before.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="movielens-items") as side:
            items_and_tags = side.submit(self._read_items_and_tags, root, budget)
            interactions = pd.DataFrame(_numpy_columns(ratings, names), copy=False)
            items, texts, years = items_and_tags.result()
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=items,
            texts=FrameTextStore(texts),
            rating_scale=(0.5, 5.0),
            rating_decimals=1,
            item_noun="movie",
            category_label="genres",
            skipped_lines=(*(b.summary() for b in budget.values()), years.summary()),
        )

    def _read_items_and_tags(self, root: Path, budget: dict[str, BadLines]) -> tuple[pd.DataFrame, pd.DataFrame, Degraded]:
        movies = read_csv_table(
            root / "movies.csv", {"movieId": pa.int32(), "title": pa.string(), "genres": pa.string()}, fix=self.fix,
            bad=budget["movies.csv"],
        ).to_pandas()
        items = pd.DataFrame(
            {"title": movies["title"].str.strip().to_numpy(), "categories": split_genres(movies["genres"]).to_numpy()},
            index=pd.Index(movies["movieId"].to_numpy(), name="item"),
        )
        years = no_year(root / "movies.csv")
        items["year"] = title_year(items["title"], years)
        texts = self._read_tags(root / "tags.csv", budget["tags.csv"])
        items["tags"] = _top_tags(texts, items.index)
        return items, texts, years

    def _read_tags(self, path: Path, bad: BadLines) -> pd.DataFrame:
        if not has_rows(path):  # absent or only a header: the same thing, no tags
            return pd.DataFrame({"user": [], "item": [], "text": [], "timestamp": []})
        tags = read_csv_table(
            path,
            {"userId": pa.int32(), "movieId": pa.int32(), "tag": pa.string(), "timestamp": pa.int64()},
            fix=self.fix, bad=bad,
        ).to_pandas()
        tags = tags.rename(columns={"userId": "user", "movieId": "item", "tag": "text"})
        tags["text"] = tags["text"].str.strip()
        return tags[tags["text"] != ""].reset_index(drop=True)


def _numpy_columns(holder: list[pa.Table], names: dict[str, str]) -> dict[str, object]:
    """Each column as one NumPy array (renamed), each column's Arrow chunks freed once copied.

    ``holder`` is a one-item list that this function empties: the caller must hold no other
    reference to the table, or nothing could be freed before the end.

    So memory holds the table and one column's copy at a time, never the table and every copy
    (at 32M ratings the copies are 0.64 GB).
    """
    table = holder.pop()
    columns = {}
    for name, new in names.items():
        columns[new] = table.column(name).to_numpy()
        table = table.drop_columns([name])
    return columns


def _top_tags(texts: pd.DataFrame, index: pd.Index) -> pd.Series:
    """The most frequent tags per item (case-folded), most used first, ties alphabetical."""
    if texts.empty:
        return pd.Series([[] for _ in range(len(index))], index=index, dtype=object)
    counts = (
        texts.assign(tag=texts["text"].str.lower())
        .groupby(["item", "tag"], sort=False, observed=True)
        .size()
        .reset_index(name="n")
        .sort_values(["item", "n", "tag"], ascending=[True, False, True], kind="stable")
    )
    top = counts.groupby("item", sort=False, observed=True).head(TOP_TAGS)
    tags_of: dict = {}
    for item, tag in zip(top["item"].tolist(), top["tag"].tolist()):  # 20x faster than groupby().agg(list)
        tags_of.setdefault(item, []).append(tag)
    return pd.Series([tags_of.get(item, []) for item in index.tolist()], index=index, dtype=object)
