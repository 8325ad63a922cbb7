"""Anime Dataset 2023 (MyAnimeList, scraped through the Jikan API by Sajid Uddin, 2023).

Homepage: https://www.kaggle.com/datasets/dbdmobile/myanimelist-dataset — about 24.3M scores by
270K users on 24,905 anime, with user profiles. The three files used (UTF-8 CSV with header,
RFC 4180 quoting; ``UNKNOWN`` marks a missing metadata value):

- ``anime-dataset-2023.csv`` ``anime_id,Name,English name,Other name,Score,Genres,Synopsis,
  Type,Episodes,Aired,Premiered,Status,Producers,Licensors,Studios,Source,Duration,Rating,Rank,
  Popularity,Favorites,Scored By,Members,Image URL`` — Genres ``, ``-separated; synopses span
  lines.
- ``users-score-2023.csv`` ``user_id,Username,anime_id,Anime Title,rating`` — scores 1–10.
- ``users-details-2023.csv`` ``Mal ID,Username,Gender,Birthday,Location,Joined,Days Watched,
  Mean Score,Watching,Completed,On Hold,Dropped,Plan to Watch,Total Entries,Rewatched,Episodes
  Watched`` — ``Mal ID`` is the scores' ``user_id``; Birthday is ISO 8601 or empty.

The archive's other files (``anime-filtered.csv``, ``user-filtered.csv``,
``final_animedataset.csv``) are older, pre-joined copies and are not read.

What the reader makes of it:
- No timestamps: a user's history is the file order of their scores (the file lists each user's
  anime list as scraped), deterministic but not chronological; ``has_timestamps`` is False.
- Users: ``location`` (free text, normalised like Book-Crossing's), ``gender``, and
  ``birth year`` (numeric; the year of Birthday, kept only within ``BIRTH_YEARS``).
- There are no review texts in this dataset (synopses are the publisher's, not a user's), so
  interest recognition skips it with that reason, and target user identification shows raters
  instead of reviews (see that module). The paper's IR Anime cell must have used reviews from
  another crawl that it does not name.

Terms: the Kaggle page gives no license of its own beyond MyAnimeList's terms of use; treat it as
research-only and cite the dataset page.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..config import BuildConfig
from ..readers.budget import BadLines
from ..readers.delimited import drop_unreadable_rows, parse_numbers, read_csv_strings
from ..tables import CATEGORICAL, NUMERIC, AttributeSpec, SourceTables
from .base import Source, register_source
from .bookcrossing import location

CITATION = """@misc{uddin2023anime,
  title={Anime Dataset 2023},
  author={Uddin, Sajid},
  year={2023},
  howpublished={Kaggle, \\url{https://www.kaggle.com/datasets/dbdmobile/myanimelist-dataset}}
}"""

ANIME = [
    "anime_id", "Name", "English name", "Other name", "Score", "Genres", "Synopsis", "Type", "Episodes", "Aired",
    "Premiered", "Status", "Producers", "Licensors", "Studios", "Source", "Duration", "Rating", "Rank", "Popularity",
    "Favorites", "Scored By", "Members", "Image URL",
]
SCORES = ["user_id", "Username", "anime_id", "Anime Title", "rating"]
DETAILS = [
    "Mal ID", "Username", "Gender", "Birthday", "Location", "Joined", "Days Watched", "Mean Score", "Watching",
    "Completed", "On Hold", "Dropped", "Plan to Watch", "Total Entries", "Rewatched", "Episodes Watched",
]
UNKNOWN = "UNKNOWN"
# MAL lets users type any birthday; years outside this range (1, 1900, 2022) are not real ones.
BIRTH_YEARS = (1920, 2015)
_YEAR = re.compile(r"(19|20)\d{2}")
_BIRTH_YEAR = re.compile(r"^\s*(\d{4})-\d{2}")


@register_source
class Anime2023(Source):
    name = "anime_2023"
    title = "Anime Dataset 2023 (MyAnimeList)"
    homepage = "https://www.kaggle.com/datasets/dbdmobile/myanimelist-dataset"
    license = "No license stated on Kaggle beyond MyAnimeList's terms of use: research use; cite the dataset page"
    citation = CITATION
    required_files = ("anime-dataset-2023.csv", "users-score-2023.csv", "users-details-2023.csv")
    folder_names = ("anime_2023", "myanimelist-dataset")
    manual_download = (
        "Download the Kaggle dataset dbdmobile/myanimelist-dataset "
        "(https://www.kaggle.com/datasets/dbdmobile/myanimelist-dataset, needs a Kaggle login; "
        "or `kaggle datasets download dbdmobile/myanimelist-dataset`), unzip it and put "
        "anime-dataset-2023.csv, users-score-2023.csv and users-details-2023.csv in a folder named "
        "anime_2023 under --data-dir."
    )
    demo_folder = "anime_2023"
    fix = "download dbdmobile/myanimelist-dataset from Kaggle and unzip it (see `itdr-build --list`)"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        bad_files: list[BadLines] = []
        items = self._read_anime(root / "anime-dataset-2023.csv", config, bad_files)
        interactions = self._read_scores(root / "users-score-2023.csv", config, bad_files)
        users = self._read_users(root / "users-details-2023.csv", config, bad_files)
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=items,
            users=users,
            user_attributes=(
                AttributeSpec("location", "location", CATEGORICAL),
                AttributeSpec("gender", "gender", CATEGORICAL),
                AttributeSpec("birth_year", "birth year", NUMERIC),
            ),
            rating_scale=(1.0, 10.0),
            item_noun="anime",
            category_label="genres",
            has_timestamps=False,
            skipped_lines=tuple(b.summary() for b in bad_files if b.count),
        )

    def _strings(self, path: Path, names: list[str], config: BuildConfig, bad_files: list[BadLines], **kw) -> pa.Table:
        bad = BadLines(path, config.max_bad_line_fraction, fix=self.fix)
        bad_files.append(bad)
        return read_csv_strings(path, names, bad, **kw)

    def _read_anime(self, path: Path, config: BuildConfig, bad_files: list[BadLines]) -> pd.DataFrame:
        columns = ["anime_id", "Name", "English name", "Genres", "Type", "Aired", "Premiered", "Studios", "Source"]
        table = self._strings(path, ANIME, config, bad_files, include=columns, newlines_in_values=True)
        table = drop_unreadable_rows(table, {"anime_id": pa.int32()}, bad_files[-1])
        ids = parse_numbers(table.column("anime_id"), path, "anime_id", self.fix, kind=pa.int32(), first_line=None)
        frame = table.to_pandas().map(lambda v: "" if v.strip() == UNKNOWN else " ".join(v.split()))
        frame.index = pd.Index(ids.to_numpy(zero_copy_only=False), name="item")
        frame = frame[~frame.index.duplicated(keep="first")]
        return pd.DataFrame(
            {
                "title": frame["Name"].to_numpy(),
                "categories": [[g.strip() for g in s.split(",") if g.strip()] for s in frame["Genres"]],
                "year": [_first_year(p) or _first_year(a) for p, a in zip(frame["Premiered"], frame["Aired"])],
                "details": [
                    {k: v for k, v in (("English title", e if e != n else ""), ("type", t), ("studio", s), ("source", src)) if v}
                    for n, e, t, s, src in zip(frame["Name"], frame["English name"], frame["Type"], frame["Studios"], frame["Source"])
                ],
            },
            index=frame.index,
        )

    def _read_scores(self, path: Path, config: BuildConfig, bad_files: list[BadLines]) -> pd.DataFrame:
        # Quoted titles may hold commas. Titles never hold line breaks, and allowing them would
        # slow the parse of 24M rows; a broken row is counted as a bad line instead.
        table = self._strings(path, SCORES, config, bad_files, include=["user_id", "anime_id", "rating"])
        table = drop_unreadable_rows(table, {"user_id": pa.int32(), "anime_id": pa.int32(), "rating": pa.float32()},
                                     bad_files[-1])
        user = parse_numbers(table.column("user_id"), path, "user_id", self.fix, kind=pa.int32(), first_line=None)
        item = parse_numbers(table.column("anime_id"), path, "anime_id", self.fix, kind=pa.int32(), first_line=None)
        rating = parse_numbers(table.column("rating"), path, "rating", self.fix, kind=pa.float32(), first_line=None)
        del table
        values = rating.to_numpy(zero_copy_only=False)
        return pd.DataFrame(
            {
                "user": user.to_numpy(zero_copy_only=False),
                "item": item.to_numpy(zero_copy_only=False),
                # 0 is MAL's "not scored"; the scale is 1–10.
                "rating": np.where((values >= 1) & (values <= 10), values, np.nan).astype(np.float32),
                "timestamp": np.full(len(values), -1, dtype=np.int64),
            }
        )

    def _read_users(self, path: Path, config: BuildConfig, bad_files: list[BadLines]) -> pd.DataFrame:
        table = self._strings(path, DETAILS, config, bad_files, include=["Mal ID", "Gender", "Birthday", "Location"])
        table = drop_unreadable_rows(table, {"Mal ID": pa.int32()}, bad_files[-1])
        user = parse_numbers(table.column("Mal ID"), path, "Mal ID", self.fix, kind=pa.int32(), first_line=None)
        users = pd.DataFrame(
            {
                "location": [location(t, config.uap_location) for t in table.column("Location").to_pylist()],
                "gender": [g.strip() or None for g in table.column("Gender").to_pylist()],
                "birth_year": [_birth_year(b) for b in table.column("Birthday").to_pylist()],
            },
            index=pd.Index(user.to_numpy(zero_copy_only=False), name="user"),
        )
        return users[~users.index.duplicated(keep="first")]


def _first_year(text: str) -> str:
    match = _YEAR.search(text)
    return match.group(0) if match else ""


def _birth_year(text: str) -> float:
    match = _BIRTH_YEAR.match(text)
    if not match:
        return np.nan
    year = int(match.group(1))
    return float(year) if BIRTH_YEARS[0] <= year <= BIRTH_YEARS[1] else np.nan
