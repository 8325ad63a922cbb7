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


def test_parse_ranking_unnumbered_titles_that_look_like_markers():
    """Regression (issue 11, defect 5): one title such as ``2001: ...`` made every other line preamble."""
    cands = ["Toy Story (1995)", "Heat (1995)", "2001: A Space Odyssey (1968)", "Se7en (1995)", "Alien (1979)",
             "W. (2008)", "10 Things I Hate About You (1999)"]
    text = "Toy Story (1995)\nHeat (1995)\n2001: A Space Odyssey (1968)\nSe7en (1995)\nAlien (1979)"
    rp = parse_ranking(text, cands)
    assert rp.items == cands[:5] and rp.ok
    text = "W. (2008)\n10 Things I Hate About You (1999)\n2001: A Space Odyssey (1968)"
    assert parse_ranking(text, cands).items == [cands[5], cands[6], cands[2]]
    # numbered lists whose titles start with a number keep the title intact
    text = "Ranking:\n1. 2001: A Space Odyssey (1968)\n2. W. (2008)\n3. 10 Things I Hate About You (1999)\nDone."
    assert parse_ranking(text, cands).items == [cands[2], cands[5], cands[6]]
    from itdr_eval.metrics import ndcg_at_k
    assert ndcg_at_k(parse_ranking("Toy Story (1995)\nHeat (1995)\n2001: A Space Odyssey (1968)\nSe7en (1995)\n"
                                   "Alien (1979)", cands).items, cands[:5]) == 1.0
