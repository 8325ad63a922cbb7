"""The Anime Dataset 2023 reader: Kaggle layout, demographics, and every bad input."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError, SourceUnavailable
from itdr_hf.index import SourceIndex
from itdr_hf.sources.anime_2023 import ANIME, DETAILS, Anime2023
from itdr_hf.subtasks import SUBTASKS
from itdr_hf.synthetic.kaggle import write_anime_2023


def read(folder: Path, **options):
    return Anime2023().read(folder, BuildConfig(**options))


@pytest.fixture
def anime(tmp_path) -> Path:
    return write_anime_2023(tmp_path / "anime_2023", n_users=25, n_anime=60, per_user=12, seed=4)


def rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, table: list[list[object]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(table)


def test_reads_the_kaggle_layout(anime):
    tables = read(anime)
    assert len(tables.interactions) == len(rows(anime / "users-score-2023.csv")) - 1
    assert len(tables.items) == 60  # synopses with line breaks do not split rows
    assert tables.rating_scale == (1.0, 10.0) and tables.item_noun == "anime"
    assert not tables.has_timestamps and (tables.interactions["timestamp"] == -1).all()
    assert tables.interactions["rating"].between(1, 10).all()
    assert tables.texts.empty and tables.skipped_lines == ()
    assert [(a.name, a.kind) for a in tables.user_attributes] == [
        ("location", "categorical"), ("gender", "categorical"), ("birth year", "numeric")
    ]


def test_metadata_unknown_genres_years_and_details(anime):
    raw = {int(r[0]): r for r in rows(anime / "anime-dataset-2023.csv")[1:]}
    items = read(anime).items
    for anime_id, r in raw.items():
        genres = [] if r[5] == "UNKNOWN" else r[5].split(", ")
        assert items.at[anime_id, "categories"] == genres
        assert items.at[anime_id, "title"] == r[1]
        year = (r[10] if r[10] != "UNKNOWN" else r[9]).split()[-1]
        assert items.at[anime_id, "year"] == year[-4:]
        assert items.at[anime_id, "details"]["type"] == r[7]


def test_users_gender_birth_year_location(anime):
    write_rows(anime / "users-details-2023.csv", [
        DETAILS,
        [1, "a", "Female", "1994-07-01T00:00:00+00:00", "Lisbon, Portugal", "", "", "", "", "", "", "", "", "", "", ""],
        [2, "b", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        [3, "c", "Male", "1900-01-01T00:00:00+00:00", "n/a", "", "", "", "", "", "", "", "", "", "", ""],
    ])
    users = read(anime).users
    assert users.loc[1].tolist() == ["Lisbon, Portugal", "Female", 1994.0]
    assert users.loc[2].isna().all()
    assert np.isnan(users.at[3, "birth_year"]) and pd.isna(users.at[3, "location"])
    assert read(anime, uap_location="country").users.at[1, "location"] == "Portugal"


def test_zero_score_is_unrated(anime):
    write_rows(anime / "users-score-2023.csv", [["user_id", "Username", "anime_id", "Anime Title", "rating"],
                                                [5, "x", 7, "Title, with comma", 0], [5, "x", 8, "T", 9]])
    inter = read(anime).interactions
    assert np.isnan(inter["rating"].iloc[0]) and inter["rating"].iloc[1] == 9


def test_history_is_the_file_order(anime):
    index = SourceIndex(read(anime))
    user = int(rows(anime / "users-score-2023.csv")[1][0])
    in_file = [int(r[2]) for r in rows(anime / "users-score-2023.csv")[1:] if int(r[0]) == user]
    assert index.histories(np.array([user])).of(user)["item"].tolist() == in_file


def test_interest_recognition_is_skipped_for_want_of_reviews(anime):
    index = SourceIndex(read(anime))
    assert "no user-written reviews" in SUBTASKS.get("interest_recognition")().unsupported(index)


def test_missing_files_name_the_kaggle_download(anime, tmp_path):
    with pytest.raises(SourceUnavailable, match=r"dbdmobile/myanimelist-dataset.*users-details-2023\.csv.*anime_2023"):
        Anime2023().locate(None, None)
    (anime / "users-details-2023.csv").unlink()
    with pytest.raises(DataError, match=r"users-details-2023\.csv: missing"):
        Anime2023().locate(anime, None)
    with pytest.raises(DataError, match=r"users-details-2023\.csv: file not found"):
        read(anime)


def test_wrong_header(anime):
    write_rows(anime / "anime-dataset-2023.csv", [ANIME[:-1], list(range(23))])
    with pytest.raises(DataError, match=r"anime-dataset-2023\.csv, line 1: unexpected header"):
        read(anime)


def test_bad_encoding_names_the_line(anime):
    path = anime / "users-details-2023.csv"
    path.write_bytes(path.read_bytes() + b'9,x,Male,,"Caf\xe9",,,,,,,,,,,\n')
    n = len(path.read_bytes().splitlines())
    with pytest.raises(DataError, match=rf"users-details-2023\.csv, line {n}: byte b'\\xe9' at column 15 is not valid utf8"):
        read(anime)


def test_malformed_rows_counted_then_fatal(anime):
    path = anime / "users-score-2023.csv"
    good = path.read_text(encoding="utf-8")
    path.write_text(good + "9,x,1\n", encoding="utf-8")
    (skipped,) = read(anime).skipped_lines
    assert skipped["skipped"] == 1 and "expected 5 fields" in skipped["examples"][0]
    path.write_text(good + "9,x,1\n" * 50, encoding="utf-8")
    with pytest.raises(DataError, match=r"50 of \d+ lines could not be read"):
        read(anime)


def test_a_bad_or_empty_id_is_a_counted_bad_line_naming_the_field(anime):
    path = anime / "users-score-2023.csv"
    clean = read(anime)
    path.write_text(path.read_text(encoding="utf-8") + "nine,x,1,T,7\n,x,1,T,7\n", encoding="utf-8")
    tables = read(anime)
    assert len(tables.interactions) == len(clean.interactions)
    assert tables.interactions["user"].dtype.kind == "i"
    scores = next(s for s in tables.skipped_lines if s["file"].endswith("users-score-2023.csv"))
    assert scores["skipped"] == 2
    assert scores["examples"][0].endswith("field 'user_id': 'nine' is not a valid int32")
    assert scores["examples"][1].endswith("field 'user_id': empty value")
    path.write_text(path.read_text(encoding="utf-8") + "nine,x,1,T,7\n" * 30, encoding="utf-8")
    with pytest.raises(DataError, match=r"users-score-2023\.csv: \d+ of \d+ lines could not be read .*'nine'"):
        read(anime)


def test_empty_file(anime):
    (anime / "users-score-2023.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"users-score-2023\.csv: file is empty"):
        read(anime)
