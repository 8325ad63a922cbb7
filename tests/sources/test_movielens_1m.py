from pathlib import Path

import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError
from itdr_hf.sources.movielens_1m import AGE_GROUPS, OCCUPATIONS, MovieLens1M


def read(folder):
    return MovieLens1M().read(folder, BuildConfig())


def test_reads_the_demo_copy_and_decodes_codes(ml1m_copy):
    tables = read(ml1m_copy)
    assert tables.rating_scale == (1.0, 5.0)
    assert set(tables.users["age_group"]) <= set(AGE_GROUPS.values())
    assert set(tables.users["occupation"]) <= set(OCCUPATIONS)
    assert set(tables.users["gender"]) <= {"M", "F"}
    assert [a.name for a in tables.user_attributes] == ["age group", "gender", "occupation"]
    assert tables.format_rating(4.0) == "4"
    assert len(tables.interactions) == sum(1 for _ in open(ml1m_copy / "ratings.dat", encoding="latin-1"))


def test_latin1_titles_are_decoded(ml1m_copy):
    movies = ml1m_copy / "movies.dat"
    movies.write_bytes(movies.read_bytes() + "9999::Amélie (2001)::Comedy|Romance\n".encode("latin-1"))
    assert read(ml1m_copy).items.at[9999, "title"] == "Amélie (2001)"


def test_occupation_6_is_doctor(ml1m_copy):
    (ml1m_copy / "users.dat").write_text("1::F::25::6::12345\n", encoding="latin-1")
    users = read(ml1m_copy).users
    assert users.loc[1].tolist() == ["25-34", "F", "doctor/health care"]


def test_unknown_age_code_names_line_and_field(ml1m_copy):
    (ml1m_copy / "users.dat").write_text("1::F::25::6::12345\n2::M::99::1::12345\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"users\.dat, line 2, field 'Age': unknown age code '99'"):
        read(ml1m_copy)


def test_wrong_field_count_names_the_line(ml1m_copy):
    (ml1m_copy / "movies.dat").write_text("1::Toy Story (1995)\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"movies\.dat, line 1: expected 3 fields"):
        read(ml1m_copy)


def test_truncated_ratings_line_is_a_counted_bad_line(ml1m_copy):
    ratings = ml1m_copy / "ratings.dat"
    clean = ratings.read_text(encoding="latin-1")
    n = clean.count("\n")
    ratings.write_text(clean + "5::12::4\n", encoding="latin-1")
    tables = read(ml1m_copy)
    assert len(tables.interactions) == n
    assert tables.interactions["item"].dtype.kind == "i"
    summary = next(s for s in tables.skipped_lines if s["file"].endswith("ratings.dat") and "reason" not in s)
    assert summary["skipped"] == 1 and summary["read"] == n + 1  # lines read, the skipped one included
    assert summary["examples"][0].startswith(f"line {n + 1}: expected 7 fields")


def test_many_truncated_ratings_lines_fail_past_the_budget(ml1m_copy):
    ratings = ml1m_copy / "ratings.dat"
    ratings.write_text(ratings.read_text(encoding="latin-1") + "5::12::4\n" * 20, encoding="latin-1")
    with pytest.raises(DataError, match=r"ratings\.dat: \d+ of \d+ lines could not be read.*line \d+: expected 7 fields"):
        read(ml1m_copy)


def test_encoding_is_detected_and_reported(ml1m_copy):
    movies = ml1m_copy / "movies.dat"
    movies.write_text("1::Café Society (2016)::Comedy\n2::Amélie (2001)::Comedy|Romance\n" + movies.read_text(encoding="latin-1").split("\n", 2)[2],
                      encoding="latin-1")
    assert read(ml1m_copy).items.at[1, "title"] == "Café Society (2016)"
    notes = {Path(s["file"]).name: s["note"] for s in read(ml1m_copy).skipped_lines if "note" in s}
    assert notes["movies.dat"].startswith("decoded as ISO-8859-1")
    movies.write_text(movies.read_text(encoding="latin-1"), encoding="utf-8")  # a UTF-8 re-encoded copy
    tables = read(ml1m_copy)
    assert tables.items.at[1, "title"] == "Café Society (2016)"  # not 'CafÃ© Society'
    assert tables.items.at[2, "title"] == "Amélie (2001)"
    notes = {Path(s["file"]).name: s["note"] for s in tables.skipped_lines if "note" in s}
    assert notes["movies.dat"].startswith("decoded as UTF-8")
    assert notes["movies.dat"] == "decoded as UTF-8: valid UTF-8, a re-encoded copy (GroupLens' original is ISO-8859-1)"
    assert notes["ratings.dat"] == "decoded as UTF-8: plain ASCII, which UTF-8 and ISO-8859-1 read alike"


def test_titles_without_a_trailing_year_are_counted(ml1m_copy):
    movies = ml1m_copy / "movies.dat"
    rest = movies.read_text(encoding="latin-1").split("\n", 2)[2]
    movies.write_text("1::Mad Max (1983))::Action\n2::Death Note (2006\u20132007)::Drama\n" + rest, encoding="utf-8")
    tables = read(ml1m_copy)
    assert tables.items.at[1, "year"] == "" and tables.items.at[2, "year"] == ""
    counted = next(s for s in tables.skipped_lines if s.get("reason", "").startswith("title has no trailing (YYYY)"))
    assert counted["skipped"] >= 2 and "'Mad Max (1983))'" in counted["examples"]
