"""The Book-Crossing reader: the Kaggle mirror and the original dump, and every bad input."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError, SourceUnavailable
from itdr_hf.index import SourceIndex
from itdr_hf.sources.bookcrossing import BookCrossing, location
from itdr_hf.synthetic.kaggle import write_bookcrossing


def read(folder: Path, **options):
    return BookCrossing().read(folder, BuildConfig(**options))


@pytest.fixture
def bx(tmp_path) -> Path:
    return write_bookcrossing(tmp_path / "bookcrossing", n_users=30, n_books=80, per_user=15, seed=3)


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="latin-1").splitlines(keepends=True)


def test_reads_the_kaggle_layout(bx):
    tables = read(bx)
    inter = tables.interactions
    assert len(inter) == len(lines(bx / "BX-Book-Ratings.csv")) - 1
    assert tables.rating_scale == (1.0, 10.0) and tables.format_rating(8.0) == "8"
    assert not tables.has_timestamps and (inter["timestamp"] == -1).all()
    explicit = inter["rating"].dropna()
    assert explicit.between(1, 10).all() and inter["rating"].isna().any()  # 0 = implicit → NaN
    assert tables.texts.empty
    assert [a.name for a in tables.user_attributes] == ["location", "age"]
    assert tables.skipped_lines == ()


def test_implicit_ratings_are_nan_explicit_ones_kept(bx):
    (bx / "BX-Book-Ratings.csv").write_text(
        '"User-ID";"ISBN";"Book-Rating"\n"1";"034545104X";"0"\n"1";"0155061224";"5"\n', encoding="latin-1"
    )
    inter = read(bx).interactions
    assert inter["item"].tolist() == ["034545104X", "0155061224"]
    assert np.isnan(inter["rating"].iloc[0]) and inter["rating"].iloc[1] == 5


def test_entities_latin1_and_unknown_years(bx):
    items = read(bx).items
    assert any("&" in t for t in items["title"]) and not any("&amp;" in t for t in items["title"])
    assert any(d.get("author", "").endswith("Müller") for d in items["details"])
    raw_zero = [ln.split('";"')[0].strip('"') for ln in lines(bx / "BX_Books.csv")[1:] if '";"0";"' in ln]
    assert raw_zero and (items.loc[raw_zero, "year"] == "").all()


def test_users_age_null_and_implausible_are_unknown(bx):
    (bx / "BX-Users.csv").write_text(
        '"User-ID";"Location";"Age"\n"1";"nyc, new york, usa";NULL\n"2";"porto, n/a, portugal";"34"\n'
        '"3";"n/a, n/a, n/a";"244"\n"4";"kyoto, , japan";"0"\n',
        encoding="latin-1",
    )
    users = read(bx).users
    assert users.loc[2].tolist() == ["porto, portugal", 34.0]
    assert np.isnan(users.at[1, "age"]) and np.isnan(users.at[3, "age"]) and np.isnan(users.at[4, "age"])
    assert pd.isna(users.at[3, "location"])
    assert read(bx, uap_location="country").users.at[1, "location"] == "usa"


def test_location_normalisation():
    assert location("  nyc,  new   york , usa ", "full") == "nyc, new york, usa"
    assert location("nyc, new york, usa", "country") == "usa"
    assert location(", n/a, ", "full") is None


def test_the_original_dump_name_reads_the_same(bx, tmp_path):
    original = write_bookcrossing(tmp_path / "dump", n_users=30, n_books=80, per_user=15, seed=3, layout="original")
    assert (original / "BX-Books.csv").is_file() and not (original / "BX_Books.csv").exists()
    assert read(original).items.equals(read(bx).items)


def test_a_utf8_reexport_is_sniffed_not_garbled(bx, tmp_path):
    utf8 = write_bookcrossing(tmp_path / "utf8", n_users=30, n_books=80, per_user=15, seed=3, encoding="utf-8")
    assert read(utf8).items.equals(read(bx).items)
    assert read(utf8).users.equals(read(bx).users)


def test_history_is_the_file_order(bx):
    index = SourceIndex(read(bx))
    rows = index.histories(np.array([1])).of(1)
    in_file = [ln.split('";"')[1] for ln in lines(bx / "BX-Book-Ratings.csv")[1:] if ln.startswith('"1";')]
    titled = set(index.item_pool)
    assert rows["item"].tolist() == [i for i in in_file if i in titled]


def test_missing_files_name_the_kaggle_download(tmp_path, bx):
    with pytest.raises(SourceUnavailable, match=r"ruchi798/bookcrossing-dataset.*BX_Books\.csv.*bookcrossing"):
        BookCrossing().locate(None, None)
    with pytest.raises(DataError, match=r"BX-Book-Ratings\.csv: missing; BX-Users\.csv: missing"):
        BookCrossing().locate(tmp_path / "nowhere", None)
    assert BookCrossing().find_in(tmp_path) == bx  # found as the 'bookcrossing' folder under --data-dir
    (bx / "BX_Books.csv").unlink()
    with pytest.raises(DataError, match=r"BX_Books\.csv: file not found \(nor BX-Books\.csv\)[\s\S]*kaggle"):
        read(bx)


def test_wrong_header(bx):
    (bx / "BX-Users.csv").write_text('"User-ID";"Location"\n"1";"x"\n', encoding="latin-1")
    with pytest.raises(DataError, match=r"BX-Users\.csv, line 1: unexpected header \['User-ID', 'Location'\]"):
        read(bx)


def test_a_utf16_file_is_a_header_error_not_garbage(bx):
    path = bx / "BX-Book-Ratings.csv"
    path.write_bytes(path.read_text(encoding="latin-1").encode("utf-16"))
    with pytest.raises(DataError, match=r"BX-Book-Ratings\.csv, line 1: unexpected header"):
        read(bx)


def test_a_few_malformed_rows_are_skipped_and_counted(bx):
    books = bx / "BX_Books.csv"
    broken = '"0789466953";"DK Readers: Creating the X-Men, How It All Began\\";"James Buckley";"2000";"DK";"u";"u";"u"\n'
    books.write_text(books.read_text(encoding="latin-1") + broken, encoding="latin-1")
    tables = read(bx)
    (skipped,) = tables.skipped_lines
    assert skipped["file"].endswith("BX_Books.csv") and skipped["skipped"] == 1
    assert "0789466953" not in tables.items.index


def test_many_malformed_rows_fail_the_build(bx):
    ratings = bx / "BX-Book-Ratings.csv"
    ratings.write_text(ratings.read_text(encoding="latin-1") + '"7";"123"\n' * 40, encoding="latin-1")
    with pytest.raises(DataError, match=r"BX-Book-Ratings\.csv: 40 of \d+ lines could not be read"):
        read(bx)


def test_a_bad_rating_names_the_field(bx):
    ratings = bx / "BX-Book-Ratings.csv"
    clean = len(read(bx).interactions)
    ratings.write_text(ratings.read_text(encoding="latin-1") + '"7";"0155061224";"ten"\n"";"0155061224";"5"\n',
                       encoding="latin-1")
    tables = read(bx)
    assert len(tables.interactions) == clean  # both rows counted and dropped, the rest unchanged
    counted = next(s for s in tables.skipped_lines if s["file"].endswith("BX-Book-Ratings.csv"))
    assert counted["skipped"] == 2
    assert counted["examples"][0].endswith("field 'Book-Rating': 'ten' is not a valid float")
    assert counted["examples"][1].endswith("field 'User-ID': empty value")
    ratings.write_text('"User-ID";"ISBN";"Book-Rating"\n"7";"0155061224";"11"\n', encoding="latin-1")
    with pytest.raises(DataError, match=r"rating 11 is outside 0–10"):
        read(bx)


def test_empty_and_header_only_files(bx):
    (bx / "BX-Users.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"BX-Users\.csv: file is empty"):
        read(bx)
    (bx / "BX-Users.csv").write_text('"User-ID";"Location";"Age"\n', encoding="latin-1")
    with pytest.raises(DataError, match=r"BX-Users\.csv: file has a header but no readable rows"):
        read(bx)


def test_kaggle_categories_are_read_from_the_sibling_folder(tmp_path):
    sibling = tmp_path / "archive" / "Books Data with Category Language and Summary"
    bx = write_bookcrossing(tmp_path / "archive" / "Book reviews" / "Book reviews", n_users=10, n_books=30,
                            per_user=5, seed=3, preprocessed=sibling)
    assert BookCrossing().find_in(tmp_path / "archive") == bx  # the unzipped Kaggle archive as --data-dir
    items = read(bx).items
    with open(sibling / "Preprocessed_data.csv", encoding="utf-8") as fh:
        raw = {r[4]: r[15] for r in csv.reader(fh)}
    for isbn, categories in items["categories"].items():
        assert categories == ([] if raw[isbn] == "9" else [raw[isbn][2:-2]])
    assert any(items["categories"]) and not all(items["categories"])
    (sibling / "Preprocessed_data.csv").write_text("isbn,Category\n1,x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"Preprocessed_data\.csv, line 1: unexpected header"):
        read(bx)


def test_without_the_kaggle_extra_books_have_no_genres(bx):
    assert not any(read(bx).items["categories"])
