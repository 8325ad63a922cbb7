"""Last.fm 360K reader on synthetic TSV files in the real layout, and on broken copies of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError
from itdr_hf.index import SourceIndex
from itdr_hf.pipeline import Selection
from itdr_hf.sources.lastfm_360k import PLAYS, PROFILES_360K, LastFM360K
from itdr_hf.subtasks.user_attribute_prediction import UserAttributePrediction
from itdr_hf.synthetic.lastfm import write_lastfm_360k


@pytest.fixture
def folder(tmp_path):
    return write_lastfm_360k(tmp_path / "lastfm-dataset-360K", n_users=20, n_artists=50, per_user=14, seed=4)


def read(folder, **options):
    return LastFM360K().read(folder, BuildConfig(**options))


def raw_plays(folder):
    return pd.read_csv(folder / PLAYS, sep="\t", header=None, names=["user", "mbid", "artist", "plays"],
                       keep_default_na=False)


def test_play_counts_are_weights_ordered_fewest_first(folder):
    tables = read(folder)
    raw = raw_plays(folder)
    inter = tables.interactions
    assert len(inter) == len(raw)
    assert (inter["timestamp"] == -1).all() and not tables.has_timestamps
    assert inter["rating"].isna().all()
    merged = inter.merge(raw, left_on=["user", "item"], right_on=["user", "artist"])
    assert (merged["weight"] == merged["plays"]).all()
    for _, rows in inter.groupby("user", sort=False):
        assert rows["weight"].is_monotonic_increasing


def test_uap_shows_the_most_played_artists(folder):
    tables = read(folder, uap_items=3)
    raw = raw_plays(folder)
    user = raw["user"].iloc[0]
    top3 = set(raw[raw["user"] == user].nlargest(3, "plays")["artist"])
    config = BuildConfig(uap_items=3)
    examples = UserAttributePrediction().generate(SourceIndex(tables), config, np.random.default_rng(0))
    example = next(e for e in examples if e.user_id == user)
    assert {item["title"] for item in example.context["items"]} == top3


def test_same_artist_under_two_mbids_is_summed(folder):
    path = folder / PLAYS
    first = path.read_text().splitlines()[0].split("\t")
    with open(path, "a") as fh:
        fh.write(f"{first[0]}\t\t{first[2]}\t7\n")
    tables = read(folder)
    row = tables.interactions[(tables.interactions["user"] == first[0]) & (tables.interactions["item"] == first[2])]
    assert row["weight"].tolist() == [int(first[3]) + 7]


def test_bad_plays_and_short_lines_are_counted(folder):
    path = folder / PLAYS
    lines = path.read_text().splitlines()
    lines[2] = lines[2].rsplit("\t", 1)[0] + "\tmany"
    lines[5] = lines[5].rsplit("\t", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    summary = next(s for s in read(folder).skipped_lines if s["file"].endswith(PLAYS))
    assert summary["skipped"] == 2
    assert summary["examples"][0].startswith("line 6: expected 4 TAB-separated fields, got 3")
    assert summary["examples"][1] == "line 3, field 'plays': plays 'many' is not a count"


def test_too_many_bad_lines_fail(folder):
    path = folder / PLAYS
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line if i % 5 else line + "\textra" for i, line in enumerate(lines)) + "\n")
    with pytest.raises(DataError, match=f"{PLAYS}: \\d+ of \\d+ lines could not be read"):
        read(folder)


def test_wrong_encoding_names_the_line(folder):
    path = folder / PROFILES_360K
    raw = path.read_bytes().splitlines(keepends=True)
    raw[3] = raw[3].replace(b"Brazil", b"Brasil \xff")
    path.write_bytes(b"".join(raw))
    with pytest.raises(DataError, match=f"{PROFILES_360K}, line 4: byte"):
        read(folder)


@pytest.mark.parametrize("name", [PLAYS, PROFILES_360K])
def test_empty_file_is_an_error(folder, name):
    (folder / name).write_bytes(b"")
    with pytest.raises(DataError, match=f"{name}: file is empty"):
        read(folder)


def test_demo_build_loads(tmp_path):
    out = tmp_path / "itdr"
    result = build_dataset(out, Selection(sources=("lastfm_360k",), demo=True, strict=True), BuildConfig())
    assert [(s.subtask, s.source) for s in result.stats] == [("user_attribute_prediction", "lastfm_360k")]
    for config in get_dataset_config_names(str(out)):
        splits = load_dataset(str(out), config)
        assert sum(len(s) for s in splits.values()) > 0
