"""Book-Crossing (Ziegler et al., WWW 2005): explicit and implicit book ratings with user demographics.

Homepage (offline since ~2021): http://www2.informatik.uni-freiburg.de/~cziegler/BX/ — 1,149,780
ratings (716,109 implicit) by 278,858 users on 271,379 books, crawled in 2004. The copy people can
still get is the Kaggle mirror ``ruchi798/bookcrossing-dataset``, whose ``Book reviews/Book
reviews/`` folder holds the original CSV dump, with the books file renamed ``BX_Books.csv``:

- ``BX-Users.csv`` ``"User-ID";"Location";"Age"`` — Age is ``NULL`` when unknown (and often
  implausible: 0, 244); Location is free text ``city, state, country`` with ``n/a`` parts.
- ``BX_Books.csv`` (original name ``BX-Books.csv``) ``"ISBN";"Book-Title";"Book-Author";
  "Year-Of-Publication";"Publisher";"Image-URL-S";"Image-URL-M";"Image-URL-L"`` — year ``0``
  when unknown; HTML entities (``&amp;``); MySQL-style ``\\"`` escapes, which break a few rows.
- ``BX-Book-Ratings.csv`` ``"User-ID";"ISBN";"Book-Rating"`` — 1–10 explicit, ``0`` implicit.

All are ``;``-separated, every field quoted (Age ``NULL`` is not), ISO-8859-1. A UTF-8 re-export
is read as UTF-8 (the encoding is sniffed: every byte is valid ISO-8859-1, so guessing wrong
would garble titles silently). Rows with the wrong field count are skipped and counted.

Optional: the Kaggle folder ``Books Data with Category Language and Summary/`` holds
``Preprocessed_data.csv`` (comma-separated, pandas-written: an unnamed index column, then
``user_id,location,age,isbn,rating,book_title,book_author,year_of_publication,publisher,img_s,
img_m,img_l,Summary,Language,Category,city,state,country``), a filtered join that adds a Google
Books category per ISBN (``['Fiction']``, ``9`` when unknown). When it is found beside the BX
files or in that sibling folder, its categories become the books' genres; without it books
have none (the original dump has no genres).

What the readers make of it:
- Implicit ratings (0) stay as interactions with a NaN rating: rating prediction uses explicit
  ratings only, on the 1–10 scale.
- There are no timestamps: a user's history is the file order of their ratings (the dump is
  sorted by user, then as crawled), which is deterministic; ``has_timestamps`` is False.
- Users: ``location`` (see :func:`location`) and ``age`` (numeric, kept only within
  ``AGES``).
- There is no user-written text at all: interest recognition skips this source with that
  reason, and target user identification shows raters instead of reviews (see that module).

Terms: "freely available for research use when acknowledged"; cite Ziegler et al. (2005).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..config import BuildConfig
from ..errors import DataError
from ..readers.budget import BadLines
from ..readers.delimited import drop_unreadable_rows, parse_numbers, read_csv_strings
from ..readers.opening import sniff_encoding
from ..tables import CATEGORICAL, NUMERIC, AttributeSpec, SourceTables
from .amazon_books import python_list
from .base import Source, register_source

ZIEGLER = """@inproceedings{ziegler2005improving,
  title={Improving Recommendation Lists Through Topic Diversification},
  author={Ziegler, Cai-Nicolas and McNee, Sean M. and Konstan, Joseph A. and Lausen, Georg},
  booktitle={Proceedings of the 14th International Conference on World Wide Web},
  pages={22--32}, year={2005}, doi={10.1145/1060745.1060754}
}"""

USERS = ["User-ID", "Location", "Age"]
BOOKS = ["ISBN", "Book-Title", "Book-Author", "Year-Of-Publication", "Publisher", "Image-URL-S", "Image-URL-M", "Image-URL-L"]
RATINGS = ["User-ID", "ISBN", "Book-Rating"]
BOOK_FILES = ("BX_Books.csv", "BX-Books.csv")  # Kaggle's name first, then the original dump's
CATEGORY_FILE = "Preprocessed_data.csv"
CATEGORY_FOLDER = "Books Data with Category Language and Summary"
PREPROCESSED = [
    "", "user_id", "location", "age", "isbn", "rating", "book_title", "book_author", "year_of_publication", "publisher",
    "img_s", "img_m", "img_l", "Summary", "Language", "Category", "city", "state", "country",
]
# Self-reported ages outside this range (0, 244 …) are typos or jokes, not ages.
AGES = (5, 100)
_NO_PART = {"", "n/a", "na", "none", "null", "unknown", "-", ".", "?"}


def location(text: str, granularity: str) -> str | None:
    """A free-text location, normalised: parts trimmed, empty and ``n/a`` parts dropped.

    ``granularity`` ``"full"`` keeps every part (``nyc, new york, usa``); ``"country"`` keeps
    the last one (``usa``). None when nothing is left.
    """
    parts = [" ".join(p.split()) for p in html.unescape(str(text)).split(",")]
    parts = [p for p in parts if p.lower() not in _NO_PART]
    if not parts:
        return None
    return parts[-1] if granularity == "country" else ", ".join(parts)


@register_source
class BookCrossing(Source):
    name = "bookcrossing"
    title = "Book-Crossing"
    homepage = "https://www.kaggle.com/datasets/ruchi798/bookcrossing-dataset"
    license = 'Book-Crossing terms: "freely available for research use when acknowledged" (cite Ziegler et al. 2005)'
    citation = ZIEGLER
    required_files = ("BX-Book-Ratings.csv", "BX-Users.csv")
    folder_names = ("bookcrossing", "Book reviews", "Book reviews/Book reviews", "bookcrossing/Book reviews/Book reviews", "BX-CSV-Dump")
    manual_download = (
        "Download the Kaggle dataset ruchi798/bookcrossing-dataset "
        "(https://www.kaggle.com/datasets/ruchi798/bookcrossing-dataset, needs a Kaggle login; "
        "or `kaggle datasets download ruchi798/bookcrossing-dataset`), unzip it and put "
        "BX-Book-Ratings.csv, BX-Users.csv and BX_Books.csv (from its 'Book reviews/Book reviews' folder) "
        "in a folder named bookcrossing under --data-dir. The original BX-CSV-Dump files "
        "(BX-Books.csv) work too."
    )
    demo_folder = "bookcrossing"
    fix = "download ruchi798/bookcrossing-dataset from Kaggle and unzip it (see `itdr-build --list`)"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        bad_files: list[BadLines] = []
        items = self._read_books(self._books_path(root), config, bad_files)
        items["categories"] = self._read_categories(root, items.index, config, bad_files)
        interactions = self._read_ratings(root / "BX-Book-Ratings.csv", config, bad_files)
        users = self._read_users(root / "BX-Users.csv", config, bad_files)
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=items,
            users=users,
            user_attributes=(AttributeSpec("location", "location", CATEGORICAL), AttributeSpec("age", "age", NUMERIC)),
            rating_scale=(1.0, 10.0),
            item_noun="book",
            has_timestamps=False,
            skipped_lines=tuple(b.summary() for b in bad_files if b.count),
        )

    def _books_path(self, root: Path) -> Path:
        for name in BOOK_FILES:
            if (root / name).is_file():
                return root / name
        raise DataError(root / BOOK_FILES[0], f"file not found (nor {BOOK_FILES[1]})", fix=self.manual_download)

    def _strings(self, path: Path, names: list[str], config: BuildConfig, bad_files: list[BadLines], **kw) -> pa.Table:
        bad = BadLines(path, config.max_bad_line_fraction, fix=self.fix)
        bad_files.append(bad)
        return read_csv_strings(path, names, bad, delimiter=";", encoding=sniff_encoding(path), escape_char="\\", **kw)

    def _read_books(self, path: Path, config: BuildConfig, bad_files: list[BadLines]) -> pd.DataFrame:
        table = self._strings(path, BOOKS, config, bad_files, include=BOOKS[:5])
        table = drop_unreadable_rows(table, {"ISBN": pa.string()}, bad_files[-1])
        isbn = pc.utf8_upper(pc.utf8_trim_whitespace(table.column("ISBN"))).to_numpy(zero_copy_only=False)
        frame = pd.DataFrame(
            {
                "title": [html.unescape(t).strip() for t in table.column("Book-Title").to_pylist()],
                "author": [html.unescape(t).strip() for t in table.column("Book-Author").to_pylist()],
                "publisher": [html.unescape(t).strip() for t in table.column("Publisher").to_pylist()],
                "year": table.column("Year-Of-Publication").to_pylist(),
            },
            index=pd.Index(isbn, name="item"),
        )
        frame = frame[~frame.index.duplicated(keep="first")]
        year = pd.to_numeric(frame["year"], errors="coerce")
        items = pd.DataFrame(
            {
                "title": frame["title"].to_numpy(),
                # 0 means unknown; the dump also has a few future years (2030, 2050).
                "year": np.where((year >= 1000) & (year <= 2005), year.fillna(0).astype(int).astype(str), ""),
                "details": [
                    {k: v for k, v in (("author", a), ("publisher", p)) if v}
                    for a, p in zip(frame["author"], frame["publisher"])
                ],
            },
            index=frame.index,
        )
        return items

    def _read_categories(self, root: Path, isbns: pd.Index, config: BuildConfig, bad_files: list[BadLines]) -> list:
        candidates = [root / CATEGORY_FILE, root / CATEGORY_FOLDER / CATEGORY_FILE,
                      root.parent / CATEGORY_FOLDER / CATEGORY_FILE, root.parent.parent / CATEGORY_FOLDER / CATEGORY_FILE]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            return [[] for _ in range(len(isbns))]
        bad = BadLines(path, config.max_bad_line_fraction, fix=self.fix)
        bad_files.append(bad)
        table = read_csv_strings(path, PREPROCESSED, bad, encoding=sniff_encoding(path), include=["isbn", "Category"],
                                 newlines_in_values=True)
        frame = table.to_pandas().drop_duplicates("isbn", keep="first")
        found = dict(zip(frame["isbn"].str.strip().str.upper(), frame["Category"]))
        return [[c for c in python_list(found.get(isbn, "")) if c != "9"] for isbn in isbns]

    def _read_ratings(self, path: Path, config: BuildConfig, bad_files: list[BadLines]) -> pd.DataFrame:
        table = self._strings(path, RATINGS, config, bad_files)
        table = drop_unreadable_rows(table, {"User-ID": pa.int32(), "ISBN": pa.string(), "Book-Rating": pa.float32()},
                                     bad_files[-1])
        user = parse_numbers(table.column("User-ID"), path, "User-ID", self.fix, kind=pa.int32(), first_line=None)
        rating = parse_numbers(table.column("Book-Rating"), path, "Book-Rating", self.fix, kind=pa.float32(), first_line=None)
        values = rating.to_numpy(zero_copy_only=False)
        outside = np.flatnonzero((values < 0) | (values > 10))
        if len(outside):
            raise DataError(
                path, f"data row {outside[0] + 1}: rating {values[outside[0]]:g} is outside 0–10", field="Book-Rating", fix=self.fix
            )
        return pd.DataFrame(
            {
                "user": user.to_numpy(zero_copy_only=False),
                "item": pc.utf8_upper(pc.utf8_trim_whitespace(table.column("ISBN"))).to_numpy(zero_copy_only=False),
                "rating": np.where(values == 0, np.nan, values).astype(np.float32),
                "timestamp": np.full(len(values), -1, dtype=np.int64),
            }
        )

    def _read_users(self, path: Path, config: BuildConfig, bad_files: list[BadLines]) -> pd.DataFrame:
        table = self._strings(path, USERS, config, bad_files)
        table = drop_unreadable_rows(table, {"User-ID": pa.int32()}, bad_files[-1])
        user = parse_numbers(table.column("User-ID"), path, "User-ID", self.fix, kind=pa.int32(), first_line=None)
        age = parse_numbers(
            table.column("Age"), path, "Age", self.fix, kind=pa.float64(), empty=float("nan"), null=("NULL",), first_line=None
        ).to_numpy(zero_copy_only=False)
        age = np.where((age >= AGES[0]) & (age <= AGES[1]), np.floor(age), np.nan)
        users = pd.DataFrame(
            {
                "location": [location(t, config.uap_location) for t in table.column("Location").to_pylist()],
                "age": age,
            },
            index=pd.Index(user.to_numpy(zero_copy_only=False), name="user"),
        )
        return users[~users.index.duplicated(keep="first")]
