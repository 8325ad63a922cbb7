"""Amazon Books Reviews (Kaggle ``mohamedbakhet/amazon-books-reviews``).

Homepage: https://www.kaggle.com/datasets/mohamedbakhet/amazon-books-reviews — 3M reviews of
212,404 books (1996–2012), taken from McAuley's Amazon reviews crawl and joined with Google
Books metadata. Two UTF-8 CSV files with header, RFC 4180 quoting, line breaks inside quoted
texts:

- ``books_data.csv`` ``Title,description,authors,image,previewLink,publisher,publishedDate,
  infoLink,categories,ratingsCount`` — authors and categories are Python list literals
  (``['Julie Strain']``); publishedDate is ``1996``, ``1996-05`` or ``2005-02-01``.
- ``Books_rating.csv`` ``Id,Title,Price,User_id,profileName,review/helpfulness,review/score,
  review/time,review/summary,review/text`` — scores 1–5, Unix seconds.

What the reader makes of it:
- Items are keyed by ``Title``, the only key the two files share (``Id`` is an ASIN of one
  edition; books_data has none).
- About a fifth of the reviews have no ``User_id`` (anonymous reviews): they are skipped and
  counted in the build report, like unreadable rows.
- A user who reviewed several editions of one title keeps the earliest review as the
  interaction; every text of the pair stays fetchable.
- The review texts (several GB) stay on disk: :class:`CsvTextStore` re-reads the file once for
  the few thousand (user, title) pairs a cell shows.

Terms: whatever the Kaggle page states for the compilation (not verified here); the reviews come
from McAuley's Amazon crawl, which grants research use and no redistribution, so treat the whole
as research-only and cite both.
"""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..config import BuildConfig
from ..errors import DataError
from ..readers.budget import BadLines
from ..readers.delimited import parse_numbers, read_csv_strings
from ..tables import SourceTables, TextStore
from .base import Source, register_source

CITATION = """@misc{bakhet2022amazonbooks,
  title={Amazon Books Reviews},
  author={Bekheet, Mohamed},
  year={2022},
  howpublished={Kaggle, \\url{https://www.kaggle.com/datasets/mohamedbakhet/amazon-books-reviews}}
}
@inproceedings{mcauley2015image,
  title={Image-Based Recommendations on Styles and Substitutes},
  author={McAuley, Julian and Targett, Christopher and Shi, Qinfeng and van den Hengel, Anton},
  booktitle={Proceedings of the 38th International ACM SIGIR Conference},
  pages={43--52}, year={2015}
}"""

BOOKS = [
    "Title", "description", "authors", "image", "previewLink", "publisher", "publishedDate", "infoLink", "categories",
    "ratingsCount",
]
RATINGS = [
    "Id", "Title", "Price", "User_id", "profileName", "review/helpfulness", "review/score", "review/time",
    "review/summary", "review/text",
]
_YEAR = re.compile(r"\d{4}")


def python_list(text: str) -> list[str]:
    """``['A', 'B']`` → ``['A', 'B']``; anything that is not a list literal → its text, or nothing."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = None
        if isinstance(value, (list, tuple)):
            return [" ".join(str(v).split()) for v in value if str(v).strip()]
        text = text.strip("[]").strip("'\"")
    return [text] if text else []


class CsvTextStore(TextStore):
    """Review texts left on disk in a CSV; :meth:`fetch` streams it once and keeps only the asked pairs."""

    def __init__(self, path: Path, authors: pd.DataFrame, columns: list[str], user: str, item: str,
                 texts: tuple[str, ...]) -> None:
        self.path = path
        self._authors = authors.reset_index(drop=True)
        self.columns, self.user, self.item, self.texts = columns, user, item, texts

    def authors(self) -> pd.DataFrame:
        return self._authors

    def fetch(self, pairs: pd.DataFrame) -> pd.DataFrame:
        wanted = pd.MultiIndex.from_frame(pairs[["user", "item"]].astype(str))
        reader = pacsv.open_csv(
            self.path,
            pacsv.ReadOptions(column_names=self.columns, skip_rows=1, block_size=1 << 24),
            pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda row: "skip"),
            pacsv.ConvertOptions(
                column_types={c: pa.string() for c in self.columns},
                include_columns=[self.user, self.item, *self.texts],
                strings_can_be_null=False,
            ),
        )
        found = []
        for batch in reader:
            frame = batch.to_pandas()
            frame["user"] = frame[self.user].str.strip()
            frame["item"] = frame[self.item].map(lambda t: " ".join(t.split()))
            keep = pd.MultiIndex.from_frame(frame[["user", "item"]]).isin(wanted)
            if keep.any():
                found.append(frame.loc[keep])
        if not found:
            return pd.DataFrame({"user": [], "item": [], "text": []})
        rows = pd.concat(found, ignore_index=True)
        rows["text"] = [_review(*parts) for parts in zip(*(rows[c] for c in self.texts))]
        return rows.loc[rows["text"] != "", ["user", "item", "text"]].reset_index(drop=True)


def _review(summary: str, text: str) -> str:
    """The review's own headline, then its text: both are the user's words."""
    summary, text = (" ".join(html.unescape(s).split()) for s in (summary, text))
    if summary and text:
        return f"{summary}{'' if summary[-1] in '.!?' else '.'} {text}"
    return summary or text


@register_source
class AmazonBooks(Source):
    name = "amazon_books"
    title = "Amazon Books Reviews"
    homepage = "https://www.kaggle.com/datasets/mohamedbakhet/amazon-books-reviews"
    license = "Kaggle compilation of McAuley's Amazon reviews crawl: research use, no redistribution grant"
    citation = CITATION
    required_files = ("books_data.csv", "Books_rating.csv")
    folder_names = ("amazon_books", "amazon-books-reviews")
    manual_download = (
        "Download the Kaggle dataset mohamedbakhet/amazon-books-reviews "
        "(https://www.kaggle.com/datasets/mohamedbakhet/amazon-books-reviews, needs a Kaggle login; "
        "or `kaggle datasets download mohamedbakhet/amazon-books-reviews`), unzip it and put "
        "books_data.csv and Books_rating.csv in a folder named amazon_books under --data-dir."
    )
    demo_folder = "amazon_books"
    fix = "download mohamedbakhet/amazon-books-reviews from Kaggle and unzip it (see `itdr-build --list`)"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        bad_files: list[BadLines] = []
        items = self._read_books(root / "books_data.csv", config, bad_files)
        interactions, anonymous = self._read_ratings(root / "Books_rating.csv", config, bad_files)
        texts = CsvTextStore(
            root / "Books_rating.csv", interactions, RATINGS, "User_id", "Title", ("review/summary", "review/text")
        )
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=items,
            texts=texts,
            rating_scale=(1.0, 5.0),
            item_noun="book",
            skipped_lines=tuple(b.summary() for b in bad_files if b.count) + ((anonymous,) if anonymous["skipped"] else ()),
        )

    def _strings(self, path: Path, names: list[str], config: BuildConfig, bad_files: list[BadLines], **kw) -> pa.Table:
        bad = BadLines(path, config.max_bad_line_fraction, fix=self.fix)
        bad_files.append(bad)
        return read_csv_strings(path, names, bad, newlines_in_values=True, **kw)

    def _read_books(self, path: Path, config: BuildConfig, bad_files: list[BadLines]) -> pd.DataFrame:
        table = self._strings(path, BOOKS, config, bad_files, include=["Title", "authors", "publisher", "publishedDate", "categories"])
        frame = table.to_pandas()
        frame["Title"] = frame["Title"].map(lambda t: " ".join(t.split()))
        frame = frame[frame["Title"] != ""].drop_duplicates("Title", keep="first")
        authors = frame["authors"].map(python_list)
        return pd.DataFrame(
            {
                "title": frame["Title"].to_numpy(),
                "categories": frame["categories"].map(python_list).to_numpy(),
                "year": frame["publishedDate"].map(lambda d: (m.group(0) if (m := _YEAR.search(d)) else "")).to_numpy(),
                "details": [
                    {k: v for k, v in (("author", ", ".join(a[:3])), ("publisher", " ".join(p.split()))) if v}
                    for a, p in zip(authors, frame["publisher"])
                ],
            },
            index=pd.Index(frame["Title"].to_numpy(), name="item"),
        )

    def _read_ratings(self, path: Path, config: BuildConfig, bad_files: list[BadLines]) -> tuple[pd.DataFrame, dict]:
        table = self._strings(path, RATINGS, config, bad_files, include=["Title", "User_id", "review/score", "review/time"])
        user = pc.utf8_trim_whitespace(table.column("User_id"))
        title = pc.utf8_trim_whitespace(table.column("Title"))
        known = pc.and_(pc.not_equal(user, ""), pc.not_equal(title, ""))
        n_rows, n_known = table.num_rows, pc.sum(known).as_py() or 0
        anonymous = {
            "file": str(path),
            "skipped": n_rows - n_known,
            "read": n_rows,
            "examples": ["reviews with no User_id (anonymous) or no Title: not attributable to a user"],
        }
        if n_known == 0:
            raise DataError(path, "no review has both a User_id and a Title", field="User_id", fix=self.fix)
        table = table.filter(known)
        score = parse_numbers(table.column("review/score"), path, "review/score", self.fix, kind=pa.float32(), first_line=None)
        time = parse_numbers(table.column("review/time"), path, "review/time", self.fix, kind=pa.int64(), first_line=None)
        values = score.to_numpy(zero_copy_only=False)
        outside = np.flatnonzero((values < 1) | (values > 5))
        if len(outside):
            raise DataError(path, f"score {values[outside[0]]:g} is outside 1–5", field="review/score", fix=self.fix)
        frame = pd.DataFrame(
            {
                "user": pc.utf8_trim_whitespace(table.column("User_id")).to_numpy(zero_copy_only=False),
                "item": pc.utf8_trim_whitespace(table.column("Title")).to_pandas().map(lambda t: " ".join(t.split())).to_numpy(),
                "rating": values,
                "timestamp": time.to_numpy(zero_copy_only=False),
            }
        )
        # Several editions of one title reviewed by one user: the earliest review is the interaction.
        order = np.lexsort((np.arange(len(frame)), frame["timestamp"].to_numpy()))
        first = ~frame.iloc[order].duplicated(["user", "item"], keep="first")
        frame = frame.iloc[np.sort(order[first.to_numpy()])].reset_index(drop=True)
        return frame, anonymous
