"""The MovieLens 32M reader: real layout, synthetic demo copy, and every bad input of issue 2."""

from pathlib import Path

import numpy as np
import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError
from itdr_hf.sources.base import verify_digest
from itdr_hf.sources.movielens_32m import MovieLens32M


def read(folder: Path):
    return MovieLens32M().read(folder, BuildConfig())


def test_reads_the_demo_copy(ml32m_copy):
    tables = read(ml32m_copy)
    inter = tables.interactions
    assert list(inter.columns[:4]) == ["user", "item", "rating", "timestamp"]
    assert inter["rating"].dtype == np.float32 and inter["timestamp"].dtype == np.int64
    assert inter["rating"].between(0.5, 5.0).all()
    assert tables.rating_scale == (0.5, 5.0)
    assert tables.format_rating(4.0) == "4.0"
    movie = tables.items.iloc[0]
    assert movie["title"].endswith(")") and movie["year"].isdigit()
    assert isinstance(movie["categories"], list) and movie["categories"]
    assert not tables.texts.empty


def test_reads_the_real_ml_latest_small(ml_small):
    tables = read(ml_small)
    assert len(tables.interactions) == 100_836
    assert tables.interactions["user"].nunique() == 610
    assert len(tables.items) == 9_742
    assert tables.items.at[1, "title"] == "Toy Story (1995)"
    assert tables.items.at[1, "categories"] == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert tables.items.at[1, "year"] == "1995"
    assert len(tables.texts.authors()) == 3_683
    # "(no genres listed)" means no genres, not a genre called that
    assert not any("(no genres listed)" in g for g in tables.items["categories"])


def test_missing_file_names_it_and_the_fix(ml32m_copy):
    (ml32m_copy / "movies.csv").unlink()
    with pytest.raises(DataError, match=r"movies\.csv: file not found\n  fix: download ml-32m\.zip"):
        read(ml32m_copy)


def test_truncated_row_names_the_line(ml32m_copy):
    ratings = ml32m_copy / "ratings.csv"
    lines = ratings.read_text().splitlines()
    lines[4] = "1,2,3.5"
    ratings.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"ratings\.csv, line 5: expected 4 fields separated by ',', got 3"):
        read(ml32m_copy)


def test_non_numeric_value_names_line_and_field(ml32m_copy):
    ratings = ml32m_copy / "ratings.csv"
    lines = ratings.read_text().splitlines()
    lines[9] = "1,2,four,964982703"
    ratings.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"ratings\.csv, line 10, field 'rating': 'four' is not a valid float"):
        read(ml32m_copy)


def test_non_utf8_names_the_line(ml32m_copy):
    movies = ml32m_copy / "movies.csv"
    data = movies.read_bytes().split(b"\n")
    data[3] = b'3,"Caf\xe9 Society (2016)",Comedy'
    movies.write_bytes(b"\n".join(data))
    with pytest.raises(DataError, match=r"movies\.csv, line 4: .*not valid utf8"):
        read(ml32m_copy)


def test_empty_ratings_file(ml32m_copy):
    (ml32m_copy / "ratings.csv").write_text("")
    with pytest.raises(DataError, match=r"ratings\.csv: file is empty"):
        read(ml32m_copy)


def test_header_only_ratings_file(ml32m_copy):
    (ml32m_copy / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
    with pytest.raises(DataError, match=r"ratings\.csv: file has a header but no rows"):
        read(ml32m_copy)


def test_wrong_header_is_caught_before_parsing(ml32m_copy):
    ratings = ml32m_copy / "ratings.csv"
    ratings.write_text("user,item,score,time\n1,2,3.0,4\n")
    with pytest.raises(DataError, match=r"line 1: unexpected header \['user', 'item', 'score', 'time'\]"):
        read(ml32m_copy)


def test_wrong_checksum(tmp_path):
    archive = tmp_path / "ml-32m.zip"
    archive.write_bytes(b"not the archive")
    with pytest.raises(DataError, match=r"ml-32m\.zip: md5 is .*, expected 0123"):
        verify_digest(archive, "md5", "0123")
    verify_digest(archive, "sha256", __import__("hashlib").sha256(b"not the archive").hexdigest())
