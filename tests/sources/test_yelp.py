"""Yelp reader on synthetic files in the real JSON-lines layout, and on broken copies of them."""

from __future__ import annotations

import json

import pytest
from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError
from itdr_hf.pipeline import Selection
from itdr_hf.sources.yelp import BUSINESSES, REVIEWS, Yelp, _features
from itdr_hf.synthetic.yelp import write_yelp


@pytest.fixture
def yelp_dir(tmp_path):
    return write_yelp(tmp_path / "yelp", n_users=30, n_businesses=40, n_reviews=300, seed=3)


def read(folder, **options):
    return Yelp().read(folder, BuildConfig(**options))


def test_reads_reviews_businesses_and_texts(yelp_dir):
    tables = read(yelp_dir)
    reviews = [json.loads(line) for line in (yelp_dir / REVIEWS).read_text().splitlines()]
    assert len(tables.interactions) == len(reviews)
    first = reviews[0]
    row = tables.interactions.iloc[0]
    assert (row["user"], row["item"], float(row["rating"])) == (first["user_id"], first["business_id"], first["stars"])
    assert tables.rating_scale == (1.0, 5.0)
    assert tables.interactions["timestamp"].min() > 1_300_000_000
    business = json.loads((yelp_dir / BUSINESSES).read_text().splitlines()[1])
    item = tables.items.loc[business["business_id"]]
    assert item["title"] == business["name"]
    assert item["categories"] == business["categories"].split(", ")
    assert item["details"]["location"] == f"{business['city']}, {business['state']}"
    # texts stay on disk until fetched, by line number
    pairs = tables.texts.authors().iloc[[5, 2]][["user", "item"]]
    fetched = tables.texts.fetch(pairs)
    assert sorted(fetched["text"]) == sorted([reviews[2]["text"], reviews[5]["text"]])


def test_attribute_strings_become_phrases():
    attrs = {"WiFi": "u'free'", "BikeParking": "True", "Smoking": "u'no'", "HasTV": "False",
             "Ambience": "{'romantic': False, 'casual': True}", "Alcohol": "None"}
    assert _features(attrs) == ["Ambience: casual", "BikeParking", "WiFi: free"]
    assert _features(None) == []


def test_bad_lines_are_counted_and_reported(yelp_dir):
    path = yelp_dir / REVIEWS
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = b'{"user_id": "x", "business_id": \n'  # truncated JSON
    lines[7] = lines[7].replace(b'"stars": ', b'"stars_": ')  # missing required field
    lines[9] = b'{"user_id": "u", "business_id": "b", "stars": 9.0, "date": "2015-01-01 00:00:00", "text": "t"}\n'
    lines[11] = lines[11].replace(b"Would", b"W\xe9ould")  # not UTF-8
    path.write_bytes(b"".join(lines))
    tables = read(yelp_dir)
    summary = next(s for s in tables.skipped_lines if s["file"].endswith(REVIEWS))
    assert summary["skipped"] == 4
    assert any("line 8, field 'stars': missing" in e for e in summary["examples"])
    assert any("line 10, field 'stars': 9.0 is outside" in e for e in summary["examples"])
    assert any("line 12: not valid utf-8" in e for e in summary["examples"])
    assert len(tables.interactions) == len(lines) - 4


def test_too_many_bad_lines_fail_with_file_and_first_line(yelp_dir):
    path = yelp_dir / REVIEWS
    lines = path.read_text().splitlines()
    broken = [line.replace('"date": "', '"date": "not-') if i % 3 == 0 else line for i, line in enumerate(lines)]
    path.write_text("\n".join(broken) + "\n")
    with pytest.raises(DataError) as err:
        read(yelp_dir, max_bad_line_fraction=0.01)
    message = str(err.value)
    assert REVIEWS in message and "line 1, field 'date': not a date" in message
    assert "--max-bad-line-fraction" in message


@pytest.mark.parametrize("name", [REVIEWS, BUSINESSES])
def test_empty_file_is_an_error(yelp_dir, name):
    (yelp_dir / name).write_bytes(b"")
    with pytest.raises(DataError, match=f"{name}: file is empty"):
        read(yelp_dir)


def test_file_of_only_bad_lines_is_an_error(yelp_dir):
    (yelp_dir / BUSINESSES).write_text('{"business_id": "a"}\n')
    with pytest.raises(DataError, match="no readable business lines"):
        read(yelp_dir)


def test_demo_build_loads(tmp_path):
    out = tmp_path / "itdr"
    result = build_dataset(out, Selection(sources=("yelp",), demo=True, strict=True), BuildConfig())
    assert {(s.subtask, s.source) for s in result.stats} == {
        ("rating_prediction", "yelp"), ("target_user_identification", "yelp")
    }
    for config in get_dataset_config_names(str(out)):
        splits = load_dataset(str(out), config)
        assert sum(len(s) for s in splits.values()) > 0
    tui = load_dataset(str(out), "target_user_identification")["train"][0]
    assert "User comments:\n1. " in tui["input"]
