"""The Amazon Books Reviews reader: title-keyed items, anonymous reviews, texts left on disk."""

import csv
from pathlib import Path

import pandas as pd
import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError, SourceUnavailable
from itdr_hf.sources.amazon_books import RATINGS, AmazonBooks, python_list
from itdr_hf.synthetic.kaggle import write_amazon_books


def read(folder: Path):
    return AmazonBooks().read(folder, BuildConfig())


@pytest.fixture
def amazon(tmp_path) -> Path:
    return write_amazon_books(tmp_path / "amazon_books", n_users=20, n_books=50, per_user=10, seed=5)


def rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, table: list[list[object]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(table)


def review(title, user, score, time, summary="s", text="t"):
    return ["B1", title, "", user, "", "1/2", score, time, summary, text]


def test_reads_the_kaggle_layout_and_counts_anonymous_reviews(amazon):
    raw = rows(amazon / "Books_rating.csv")[1:]
    anonymous = sum(1 for r in raw if not r[3])
    tables = read(amazon)
    assert anonymous > 0 and len(tables.interactions) == len(raw) - anonymous
    (skipped,) = tables.skipped_lines
    assert (skipped["skipped"], skipped["read"]) == (anonymous, len(raw))
    assert "no User_id" in skipped["examples"][0]
    assert tables.rating_scale == (1.0, 5.0) and tables.has_timestamps
    assert tables.interactions["timestamp"].gt(0).all()


def test_items_are_keyed_by_title_with_list_literals_parsed(amazon):
    raw = rows(amazon / "books_data.csv")[1:]
    items = read(amazon).items
    assert list(items.index) == [r[0] for r in raw]
    first = items.loc[raw[0][0]]
    assert first["categories"] == python_list(raw[0][8]) and len(first["categories"]) == 1
    assert first["details"]["author"] == python_list(raw[0][2])[0]
    assert first["year"] == raw[0][6][:4]


@pytest.mark.parametrize(
    "text, expected",
    [("['Julie Strain']", ["Julie Strain"]), ("['A', 'B ']", ["A", "B"]), ("", []), ("[]", []),
     ("['broken", ["broken"]), ("Plain Name", ["Plain Name"])],
)
def test_python_list(text, expected):
    assert python_list(text) == expected


def test_texts_stay_on_disk_and_are_fetched_with_their_summary(amazon):
    tables = read(amazon)
    authors = tables.texts.authors()
    assert "text" not in authors.columns and len(authors) == len(tables.interactions)
    pairs = authors.head(4)[["user", "item"]]
    fetched = tables.texts.fetch(pairs)
    assert set(map(tuple, fetched[["user", "item"]].to_numpy())) == set(map(tuple, pairs.to_numpy()))
    raw = {(r[3], r[1]): (r[8], r[9]) for r in rows(amazon / "Books_rating.csv")[1:]}
    for user, item, text in fetched.itertuples(index=False):
        summary, body = raw[(user, item)]
        assert text.startswith(summary) and text.endswith(body)


def test_editions_keep_the_earliest_review_and_entities_are_decoded(amazon):
    write_rows(amazon / "Books_rating.csv", [
        RATINGS,
        review("Dune", "U1", "2.0", "200", "Later", "Second edition &quot;meh&quot;"),
        review("Dune", "U1", "5.0", "100", "Earlier", "First read,\nloved it"),
        review("Dune", "", "1.0", "50"),
    ])
    tables = read(amazon)
    assert tables.interactions[["user", "item", "rating", "timestamp"]].values.tolist() == [["U1", "Dune", 5.0, 100]]
    texts = tables.texts.fetch(pd.DataFrame({"user": ["U1"], "item": ["Dune"]}))["text"].tolist()
    assert texts == ['Later. Second edition "meh"', "Earlier. First read, loved it"]


def test_missing_files_name_the_kaggle_download(amazon):
    with pytest.raises(SourceUnavailable, match=r"mohamedbakhet/amazon-books-reviews.*Books_rating\.csv.*amazon_books"):
        AmazonBooks().locate(None, None)
    (amazon / "books_data.csv").unlink()
    with pytest.raises(DataError, match=r"books_data\.csv: file not found"):
        read(amazon)


def test_wrong_header(amazon):
    write_rows(amazon / "Books_rating.csv", [RATINGS[:-1], review("Dune", "U1", "4.0", "1")[:-1]])
    with pytest.raises(DataError, match=r"Books_rating\.csv, line 1: unexpected header"):
        read(amazon)


def test_bad_encoding_names_the_line(amazon):
    path = amazon / "books_data.csv"
    path.write_bytes(path.read_bytes() + b'Caf\xe9 Society,,,,,,,,,\n')
    n = len(path.read_bytes().splitlines())
    with pytest.raises(DataError, match=rf"books_data\.csv, line {n}: byte b'\\xe9' at column 4 is not valid utf8"):
        read(amazon)


def test_malformed_rows_counted_then_fatal(amazon):
    path = amazon / "Books_rating.csv"
    good = path.read_text(encoding="utf-8")
    path.write_text(good + "B1,Dune,,U1\n", encoding="utf-8")
    malformed, _anonymous = read(amazon).skipped_lines
    assert malformed["skipped"] == 1 and "expected 10 fields" in malformed["examples"][0]
    path.write_text(good + "B1,Dune,,U1\n" * 30, encoding="utf-8")
    with pytest.raises(DataError, match=r"30 of \d+ lines could not be read"):
        read(amazon)


def test_bad_score_and_all_anonymous(amazon):
    path = amazon / "Books_rating.csv"
    write_rows(path, [RATINGS, review("Dune", "U1", "7.0", "1")])
    with pytest.raises(DataError, match=r"field 'review/score': score 7 is outside 1–5"):
        read(amazon)
    write_rows(path, [RATINGS, review("Dune", "", "4.0", "1")])
    with pytest.raises(DataError, match=r"no review has both a User_id and a Title"):
        read(amazon)


def test_empty_file(amazon):
    (amazon / "Books_rating.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"Books_rating\.csv: file is empty"):
        read(amazon)
    write_rows(amazon / "Books_rating.csv", [RATINGS])
    with pytest.raises(DataError, match=r"header but no readable rows"):
        read(amazon)

