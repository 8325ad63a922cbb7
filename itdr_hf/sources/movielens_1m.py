"""MovieLens 1M (GroupLens): ratings with user demographics.

Homepage: https://grouplens.org/datasets/movielens/1m/ — 1,000,209 ratings by 6,040 users on
3,706 movies (2000–2003). Files are ``::``-separated, ISO-8859-1, no header:
``ratings.dat UserID::MovieID::Rating::Timestamp`` (whole stars 1–5),
``users.dat UserID::Gender::Age::Occupation::Zip-code`` (age and occupation are codes, decoded
below from the dataset's README), ``movies.dat MovieID::Title::Genres``. UTF-8 re-encoded
copies are common, so each file is read as UTF-8 when it is valid UTF-8 and as ISO-8859-1
otherwise; the report notes which. A malformed ratings line (field count, an empty or
non-numeric id) is a counted bad line within ``--max-bad-line-fraction``.

Terms: research use, no redistribution without permission; cite Harper & Konstan (2015).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..config import BuildConfig
from ..errors import DataError
from ..readers.budget import BadLines
from ..readers.delimited import read_csv_table, read_separated_lines
from ..readers.opening import sniff_encoding
from ..tables import CATEGORICAL, AttributeSpec, SourceTables
from .base import RemoteArchive, Source, register_source
from .movielens_32m import HARPER_KONSTAN, no_year, split_genres, title_year

AGE_GROUPS = {
    "1": "Under 18", "18": "18-24", "25": "25-34", "35": "35-44", "45": "45-49", "50": "50-55", "56": "56+",
}
OCCUPATIONS = [
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student", "customer service",
    "doctor/health care", "executive/managerial", "farmer", "homemaker", "K-12 student", "lawyer",
    "programmer", "retired", "sales/marketing", "scientist", "self-employed", "technician/engineer",
    "tradesman/craftsman", "unemployed", "writer",
]


@register_source
class MovieLens1M(Source):
    name = "movielens_1m"
    title = "MovieLens 1M"
    homepage = "https://grouplens.org/datasets/movielens/1m/"
    license = "GroupLens research license: research use only, no redistribution without permission"
    citation = HARPER_KONSTAN
    required_files = ("ratings.dat", "users.dat", "movies.dat")
    folder_names = ("ml-1m",)
    remote = RemoteArchive(
        url="https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
    )
    demo_folder = "ml-1m"
    fix = "download ml-1m.zip from https://grouplens.org/datasets/movielens/1m/ and unzip it"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        # GroupLens' files are ISO-8859-1, but UTF-8 re-encoded copies are common: reading one
        # as latin-1 would garble every accented title silently, so each file is sniffed.
        encodings = {name: sniff_encoding(root / name) for name in self.required_files}
        bad = BadLines(root / "ratings.dat", config.max_bad_line_fraction, self.fix)
        # '::' is read as ':' with empty columns between the values: pyarrow's fast reader
        # then handles the million rows, and the empty columns are dropped.
        ratings = read_csv_table(
            root / "ratings.dat",
            {"user": pa.int32(), "_1": pa.string(), "item": pa.int32(), "_2": pa.string(),
             "rating": pa.float32(), "_3": pa.string(), "timestamp": pa.int64()},
            delimiter=":", header=False, encoding=encodings["ratings.dat"], fix=self.fix, bad=bad,
        )
        interactions = ratings.select(["user", "item", "rating", "timestamp"]).to_pandas()
        movies = pd.DataFrame(
            read_separated_lines(root / "movies.dat", "::", ["MovieID", "Title", "Genres"], encoding=encodings["movies.dat"],
                                  fix=self.fix),
            columns=["item", "title", "genres"],
        )
        items = pd.DataFrame(
            {"title": movies["title"].str.strip().to_numpy(), "categories": split_genres(movies["genres"]).to_numpy()},
            index=pd.Index(movies["item"].astype("int32").to_numpy(), name="item"),
        )
        years = no_year(root / "movies.dat")
        items["year"] = title_year(items["title"], years)
        users = self._read_users(root / "users.dat", encodings["users.dat"])
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=items,
            users=users,
            user_attributes=(
                AttributeSpec("age_group", "age group", CATEGORICAL),
                AttributeSpec("gender", "gender", CATEGORICAL),
                AttributeSpec("occupation", "occupation", CATEGORICAL),
            ),
            rating_scale=(1.0, 5.0),
            item_noun="movie",
            category_label="genres",
            skipped_lines=(
                bad.summary(), years.summary(),
                *({"file": str(root / name), "note": encoding_note(root / name, enc)} for name, enc in encodings.items()),
            ),
        )

    def _read_users(self, path: Path, encoding: str = "latin-1") -> pd.DataFrame:
        rows = read_separated_lines(
            path, "::", ["UserID", "Gender", "Age", "Occupation", "Zip-code"], encoding=encoding, fix=self.fix
        )
        users = pd.DataFrame(rows, columns=["user", "gender", "age", "occupation", "zip"])
        for number, (age, occ) in enumerate(zip(users["age"], users["occupation"]), start=1):
            if age not in AGE_GROUPS:
                raise DataError(path, f"unknown age code {age!r}", line=number, field="Age", fix=self.fix)
            if not occ.isdigit() or int(occ) >= len(OCCUPATIONS):
                raise DataError(path, f"unknown occupation code {occ!r}", line=number, field="Occupation", fix=self.fix)
        return pd.DataFrame(
            {
                "age_group": users["age"].map(AGE_GROUPS).to_numpy(),
                "gender": users["gender"].to_numpy(),
                "occupation": users["occupation"].astype(int).map(lambda i: OCCUPATIONS[i]).to_numpy(),
            },
            index=pd.Index(users["user"].astype("int32").to_numpy(), name="user"),
        )


def encoding_note(path: Path, encoding: str) -> str:
    """What the report says about a file's encoding: which one was used, and why."""
    if encoding != "utf8":
        return "decoded as ISO-8859-1 (latin-1): not valid UTF-8, GroupLens' original encoding"
    if path.read_bytes().isascii():
        return "decoded as UTF-8: plain ASCII, which UTF-8 and ISO-8859-1 read alike"
    return "decoded as UTF-8: valid UTF-8, a re-encoded copy (GroupLens' original is ISO-8859-1)"
