"""Last.fm 1K reader on synthetic TSV files in the real layout, and on broken copies of them."""

from __future__ import annotations

import pandas as pd
import pytest
from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError
from itdr_hf.pipeline import Selection
from itdr_hf.sources.lastfm_1k import EVENTS, PROFILES_1K, LastFM1K
from itdr_hf.synthetic.lastfm import write_lastfm_1k


@pytest.fixture
def folder(tmp_path):
    return write_lastfm_1k(tmp_path / "lastfm-dataset-1K", n_users=12, n_artists=40, n_events=600, seed=2)


def read(folder, **options):
    return LastFM1K().read(folder, BuildConfig(**options))


def raw_events(folder):
    return pd.read_csv(folder / EVENTS, sep="\t", header=None, names=["user", "time", "aid", "artist", "tid", "track"],
                       keep_default_na=False)


def test_events_become_play_counts_with_first_play_time(folder):
    tables = read(folder)
    raw = raw_events(folder)
    expected = raw.groupby(["user", "artist"]).agg(plays=("time", "size"), first=("time", "min"))
    inter = tables.interactions.set_index(["user", "item"])
    assert len(inter) == len(expected)
    assert (inter["weight"].to_numpy() == expected["plays"].to_numpy()).all()
    first = (pd.to_datetime(expected["first"], format="%Y-%m-%dT%H:%M:%SZ") - pd.Timestamp("1970-01-01")) // pd.Timedelta("1s")
    assert (inter["timestamp"].to_numpy() == first.to_numpy()).all()
    assert inter["rating"].isna().all() and not tables.has_ratings
    assert set(tables.items["title"]) == set(raw["artist"])  # artists without an MBID are kept, by name


def test_profiles_decode_gender_age_and_blanks(folder):
    users = read(folder).users
    raw = pd.read_csv(folder / PROFILES_1K, sep="\t", keep_default_na=False, dtype=str)
    assert list(users.index) == list(raw["#id"])
    first = users.loc["user_000001"]
    assert (first["country"], first["gender"], first["age"]) == ("United States", "male", 18.0)
    blank_gender = raw.loc[raw["gender"] == "", "#id"].iloc[0]
    assert pd.isna(users.at[blank_gender, "gender"])
    blank_age = raw.loc[raw["age"] == "", "#id"].iloc[0]
    assert pd.isna(users.at[blank_age, "age"])


def test_placeholder_age_is_unknown_and_bad_gender_is_a_bad_line(folder):
    path = folder / PROFILES_1K
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("\t18\t", "\t200\t")
    lines[2] = lines[2].replace("\tf\t", "\tx\t")
    path.write_text("\n".join(lines) + "\n")
    tables = read(folder)
    assert pd.isna(tables.users.at["user_000001", "age"])
    assert "user_000002" not in tables.users.index
    summary = next(s for s in tables.skipped_lines if s["file"].endswith(PROFILES_1K))
    assert summary["examples"] == ["line 3, field 'gender': gender 'x' is not m, f or empty"]


def test_bad_event_lines_are_counted_with_line_numbers(folder):
    path = folder / EVENTS
    lines = path.read_text().splitlines()
    lines[4] = "user_000001\t2009-01-01T00:00:00Z\tonly four fields"
    lines[9] = lines[9].split("\t", 2)[0] + "\tyesterday\t" + lines[9].split("\t", 2)[2]
    path.write_text("\n".join(lines) + "\n")
    tables = read(folder)
    summary = next(s for s in tables.skipped_lines if s["file"].endswith(EVENTS))
    assert summary["skipped"] == 2
    assert summary["examples"][0].startswith("line 5: expected 6 TAB-separated fields, got 3")
    assert summary["examples"][1] == "line 10, field 'time': not a time like 2009-04-08T01:57:47Z: 'yesterday'"
    assert tables.interactions["weight"].sum() == len(lines) - 2


def test_too_many_bad_lines_fail(folder):
    path = folder / EVENTS
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line if i % 4 else line.replace("\t", " ", 1) for i, line in enumerate(lines)) + "\n")
    with pytest.raises(DataError, match=r"lines could not be read \(more than 0\.10% allowed\); first: line 1: expected 6"):
        read(folder)


def test_wrong_encoding_names_the_line(folder):
    path = folder / EVENTS
    raw = path.read_bytes().splitlines(keepends=True)
    raw[6] = raw[6].replace(b"Song", b"Can\xe7\xe3o")
    path.write_bytes(b"".join(raw))
    with pytest.raises(DataError, match=f"{EVENTS}, line 7: byte b'\\\\xe7' at column \\d+ is not valid utf-8"):
        read(folder)


@pytest.mark.parametrize("name", [EVENTS, PROFILES_1K])
def test_empty_file_is_an_error(folder, name):
    (folder / name).write_bytes(b"")
    with pytest.raises(DataError, match=f"{name}: file is empty"):
        read(folder)


def test_demo_build_loads(tmp_path):
    out = tmp_path / "itdr"
    result = build_dataset(out, Selection(sources=("lastfm_1k",), demo=True, strict=True), BuildConfig())
    assert [(s.subtask, s.source) for s in result.stats] == [("user_attribute_prediction", "lastfm_1k")]
    for config in get_dataset_config_names(str(out)):
        splits = load_dataset(str(out), config)
        assert sum(len(s) for s in splits.values()) > 0
    row = load_dataset(str(out), "user_attribute_prediction")["train"][0]
    assert [a["name"] for a in row["attributes"]][-1] == "age" and row["attributes"][-1]["kind"] == "numeric"
