"""Steam reader on synthetic gzipped Python-literal lines, and on broken copies of them."""

from __future__ import annotations

import ast
import gzip

import numpy as np
import pytest
from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError
from itdr_hf.pipeline import Selection
from itdr_hf.sources.steam import GAMES, REVIEWS, Steam
from itdr_hf.synthetic.steam import write_steam


@pytest.fixture
def steam_dir(tmp_path):
    return write_steam(tmp_path / "steam", n_users=30, n_games=40, n_reviews=300, seed=5)


def read(folder, **options):
    return Steam().read(folder, BuildConfig(**options))


def lines_of(path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return fh.read().splitlines()


def write_lines(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def test_reads_reviews_games_and_texts(steam_dir):
    tables = read(steam_dir)
    reviews = [ast.literal_eval(line) for line in lines_of(steam_dir / REVIEWS)]
    assert len(tables.interactions) == len(reviews)
    inter = tables.interactions
    for row, review in zip(inter.itertuples(), reviews):
        assert row.user == review.get("user_id", review["username"])
        assert row.item == review["product_id"]
        assert row.weight == pytest.approx(review["hours"], abs=1e-3)
    assert inter["rating"].isna().all() and not tables.has_ratings
    assert inter["timestamp"].iloc[0] == int(np.datetime64(reviews[0]["date"], "s").astype(np.int64))
    games = [ast.literal_eval(line) for line in lines_of(steam_dir / GAMES)]
    no_app_name = next(g for g in games if "app_name" not in g)
    assert tables.items.at[no_app_name["id"], "title"] == no_app_name["title"]
    assert tables.items.at[games[0]["id"], "categories"] == games[0]["genres"]
    # empty review texts are interactions, not texts
    with_text = [r for r in reviews if r["text"]]
    authors = tables.texts.authors()
    assert len(authors) == len(with_text) < len(reviews)
    fetched = tables.texts.fetch(authors.iloc[:4])
    assert list(fetched["text"]) == [r["text"] for r in with_text[:4]]


def test_bad_lines_are_counted_with_line_and_field(steam_dir):
    path = steam_dir / REVIEWS
    lines = lines_of(path)
    lines[2] = lines[2][:40]  # cut mid-literal
    lines[4] = lines[4].replace("'product_id'", "'product'")
    lines[6] = lines[6].replace("'hours': ", "'hours': 'lots', 'x': ")
    write_lines(path, lines)
    tables = read(steam_dir)
    summary = next(s for s in tables.skipped_lines if s["file"].endswith(REVIEWS))
    assert summary["skipped"] == 3
    assert summary["examples"][0].startswith("line 3: does not parse as a Python literal")
    assert "line 5, field 'product_id': missing or empty" in summary["examples"]
    assert "line 7, field 'hours': not a number: 'lots'" in summary["examples"]


def test_json_instead_of_python_literals_is_still_read(steam_dir):
    """A JSON re-export uses true/false: literal_eval rejects those, and the budget says so."""
    path = steam_dir / REVIEWS
    write_lines(path, [line.replace("False", "false") for line in lines_of(path)])
    with pytest.raises(DataError, match=r"lines could not be read .* line 1: does not parse as a Python literal"):
        read(steam_dir)


def test_truncated_gzip_names_the_last_good_line(steam_dir):
    path = steam_dir / REVIEWS
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"steam_reviews.json.gz, line \d+: compressed stream ends early"):
        read(steam_dir)


def test_not_utf8_line_is_skipped(steam_dir):
    path = steam_dir / GAMES
    raw = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    raw[1] = raw[1].replace(b"Studio", b"Studio \xff")
    path.write_bytes(gzip.compress(b"".join(raw)))
    tables = read(steam_dir)
    summary = next(s for s in tables.skipped_lines if s["file"].endswith(GAMES))
    assert summary["skipped"] == 1 and summary["examples"][0].startswith("line 2: not valid utf-8 at byte")


@pytest.mark.parametrize("name", [REVIEWS, GAMES])
def test_empty_file_is_an_error(steam_dir, name):
    (steam_dir / name).write_bytes(b"")
    with pytest.raises(DataError, match=f"{name}: file is empty"):
        read(steam_dir)


def test_empty_gzip_is_an_error(steam_dir):
    (steam_dir / GAMES).write_bytes(gzip.compress(b""))
    with pytest.raises(DataError, match="no readable game lines"):
        read(steam_dir)


def test_demo_build_loads(tmp_path):
    out = tmp_path / "itdr"
    result = build_dataset(out, Selection(sources=("steam",), demo=True, strict=True), BuildConfig())
    assert ("target_user_identification", "steam") in {(s.subtask, s.source) for s in result.stats}
    for config in get_dataset_config_names(str(out)):
        splits = load_dataset(str(out), config)
        assert sum(len(s) for s in splits.values()) > 0


def test_gunzipped_and_renamed_copies_are_found(steam_dir, tmp_path):
    from itdr_hf.sources.base import file_variants

    plain = tmp_path / "data" / "steam"
    plain.mkdir(parents=True)
    (plain / "steam_games.json").write_text("\n".join(lines_of(steam_dir / GAMES)) + "\n", encoding="utf-8")
    (plain / "steam_reviews.jsonl").write_text("\n".join(lines_of(steam_dir / REVIEWS)) + "\n", encoding="utf-8")
    assert Steam().locate(tmp_path / "data", None) == plain
    assert len(Steam().read(plain, BuildConfig()).interactions) == len(read(steam_dir).interactions)
    assert file_variants("steam_games.json.gz") == (
        "steam_games.json.gz", "steam_games.json", "steam_games.jsonl.gz", "steam_games.jsonl")
    assert file_variants("ratings.csv") == ("ratings.csv",)


def test_duplicate_ids_and_non_iso_release_dates_are_counted(steam_dir):
    games = lines_of(steam_dir / GAMES)
    first = ast.literal_eval(games[0])
    second = ast.literal_eval(games[1])
    third = ast.literal_eval(games[2])
    first["release_date"], second["release_date"], third["release_date"] = "Dec 2017", "Q1 2018", "Coming Soon"
    duplicate = dict(first, app_name="Another Name")
    write_lines(steam_dir / GAMES, [str(first), str(second), str(third), *games[3:], str(duplicate)])
    tables = read(steam_dir)
    assert tables.items.at[first["id"], "year"] == "2017" and tables.items.at[second["id"], "year"] == "2018"
    assert tables.items.at[third["id"], "year"] == ""
    assert tables.items.at[first["id"], "title"] == first["app_name"]  # the first line is kept
    by_reason = {s["reason"]: s for s in tables.skipped_lines if "reason" in s}
    assert by_reason["duplicate game id: the first line is kept"]["skipped"] == 1
    assert by_reason["release date not ISO: year read from it"]["examples"] == ["line 1: 'Dec 2017'", "line 2: 'Q1 2018'"]
    assert by_reason["release date without a year: year left empty"]["examples"] == ["line 3: 'Coming Soon'"]
    notes = [s["note"] for s in tables.skipped_lines if "note" in s]
    assert notes == ["Steam version: full (Kang & McAuley's steam_reviews)"]


def test_australian_version(steam_dir, tmp_path):
    """The UCSD 'Australian' files: one user per line with a list of reviews, and the users' libraries."""
    folder = tmp_path / "data" / "steam"
    folder.mkdir(parents=True)
    (folder / "steam_games.json.gz").write_bytes((steam_dir / GAMES).read_bytes())
    game_ids = [ast.literal_eval(line)["id"] for line in lines_of(steam_dir / GAMES)][:3]
    reviews = [
        {"user_id": "76561197970982479", "user_url": "http://steamcommunity.com/profiles/76561197970982479", "reviews": [
            {"funny": "", "posted": "Posted November 5, 2011.", "last_edited": "", "item_id": game_ids[0],
             "helpful": "No ratings yet", "recommend": True, "review": "Simple yet with great replayability. It's fun"},
            {"funny": "", "posted": "Posted July 15.", "last_edited": "", "item_id": "999999",
             "helpful": "1 of 1 people (100%) found this review helpful", "recommend": False, "review": ""},
        ]},
        {"user_id": "js41637", "user_url": "http://steamcommunity.com/id/js41637", "reviews": [
            {"funny": "", "posted": "Posted June 24, 2014.", "last_edited": "", "item_id": game_ids[1],
             "helpful": "No ratings yet", "recommend": True, "review": 'I know what you think, "another" zombie game'},
        ]},
    ]
    library = [
        {"user_id": "76561197970982479", "items_count": 2, "steam_id": "76561197970982479", "user_url": "u",
         "items": [{"item_id": game_ids[0], "item_name": "Whatever", "playtime_forever": 90, "playtime_2weeks": 0},
                   {"item_id": "999999", "item_name": "Only In The Library", "playtime_forever": 6, "playtime_2weeks": 0}]},
    ]
    (folder / "australian_user_reviews.json").write_text("\n".join(map(str, reviews)) + "\n", encoding="utf-8")
    (folder / "australian_users_items.json").write_text("\n".join(map(str, library)) + "\n", encoding="utf-8")
    assert Steam().locate(tmp_path / "data", None) == folder
    tables = Steam().read(folder, BuildConfig())
    inter = tables.interactions
    assert list(inter["user"]) == ["76561197970982479", "76561197970982479", "js41637"]
    assert list(inter["item"]) == [game_ids[0], "999999", game_ids[1]]
    assert inter["weight"].iloc[0] == pytest.approx(1.5) and np.isnan(inter["weight"].iloc[2])
    assert inter["timestamp"].iloc[0] == int(np.datetime64("2011-11-05", "s").astype(np.int64))
    assert inter["timestamp"].iloc[1] == int(np.datetime64("2014-07-15", "s").astype(np.int64))  # latest year assumed
    assert tables.items.at["999999", "title"] == "Only In The Library"
    assert len(tables.texts.authors()) == 2  # the empty review is an interaction, not a text
    notes = [s["note"] for s in tables.skipped_lines if "note" in s]
    assert notes == ["Steam version: Australian (australian_user_reviews + australian_users_items)"]
    undated = next(s for s in tables.skipped_lines if s.get("reason", "").startswith("review date without a year"))
    assert undated["skipped"] == 1 and undated["examples"] == ["line 1: user 76561197970982479, item 999999"]
