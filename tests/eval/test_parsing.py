"""Parsers on messy model outputs."""

import pytest
from itdr_eval.parsing import (
    parse_attributes,
    parse_choice,
    parse_number,
    parse_ranking,
    strip_list_marker,
)

CANDS = ["Movie Alpha", "Movie Bravo", "Movie Charlie", "The Lord of the Rings: The Two Towers (2002)", "Se7en"]


@pytest.mark.parametrize("text,expected", [
    ("4.5", 4.5), ("I'd say 4.5 stars.", 4.5), ("Rating: 7/10", 5.0), ("4,5", 4.5), ("-3", 1.0),
    ("  3 ", 3.0), ("no idea", None), ("", None),
])
def test_parse_number(text, expected):
    assert parse_number(text, 1.0, 5.0) == expected


def test_strip_list_marker():
    assert strip_list_marker("  10. Title") == "Title"
    assert strip_list_marker("2) Title") == "Title"
    assert strip_list_marker("- Title") == "Title"
    assert strip_list_marker("(3) Title") == "Title"


def test_parse_ranking_messy():
    text = ("Here is my ranking:\n1. movie alpha\n2) \"Movie Bravo\"\n3. Movie Charlei\n"
            "4. Movie Zulu\n5. MOVIE ALPHA\n6. the lord of the rings - the two towers (2002)\nHope this helps!")
    rp = parse_ranking(text, CANDS)
    assert rp.items == ["Movie Alpha", "Movie Bravo", "Movie Charlie", None, "Movie Alpha",
                        "The Lord of the Rings: The Two Towers (2002)"]
    assert rp.hallucinated == 1 and rp.duplicates == 1 and not rp.ok


def test_parse_ranking_inline_and_clean():
    rp = parse_ranking("1. Movie Bravo 2. Se7en 3. Movie Alpha", CANDS)
    assert rp.items == ["Movie Bravo", "Se7en", "Movie Alpha"] and rp.ok
    assert parse_ranking("", CANDS).items == [] and not parse_ranking("", CANDS).ok


def test_parse_ranking_threshold():
    assert parse_ranking("1. Movie Charlei", CANDS, threshold=99).items == [None]
    assert parse_ranking("1. Movie Charlei", CANDS, threshold=80).items == ["Movie Charlie"]


@pytest.mark.parametrize("text,expected", [
    ("Movie Bravo", "Movie Bravo"), ("movie bravo.", "Movie Bravo"), ("Movie Brav", "Movie Bravo"),
    ("The answer is Movie Bravo, because it fits.", "Movie Bravo"), ("1. Se7en", "Se7en"),
    ("Something else entirely", None), ("", None),
])
def test_parse_choice(text, expected):
    assert parse_choice(text, CANDS) == expected


def test_parse_attributes_messy():
    names = ["age group", "gender", "occupation"]
    assert parse_attributes("age group:25-34,gender:M,occupation:doctor/health care", names) == {
        "age group": "25-34", "gender": "M", "occupation": "doctor/health care"}
    assert parse_attributes("Gender: F\nAge Group = 18-24\nI am not sure about the rest.", names) == {
        "gender": "F", "age group": "18-24"}
    assert parse_attributes("location: nyc, new york, usa, age: 34", ["location", "age"]) == {
        "location": "nyc, new york, usa", "age": "34"}
    assert parse_attributes("no attributes here", names) == {}
    assert parse_attributes("", names) == {}
