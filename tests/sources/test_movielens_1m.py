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


def test_truncated_ratings_line(ml1m_copy):
    ratings = ml1m_copy / "ratings.dat"
    ratings.write_text(ratings.read_text(encoding="latin-1") + "5::12::4\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"ratings\.dat, line \d+: expected 7 fields"):
        read(ml1m_copy)
