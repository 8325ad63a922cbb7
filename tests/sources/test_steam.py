"""Steam reader on synthetic gzipped Python-literal lines, and on broken copies of them."""

from __future__ import annotations

import ast
import gzip

import numpy as np
import pytest
from datasets import get_dataset_config_names, load_dataset

from itdr_hf.build import build_dataset
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
