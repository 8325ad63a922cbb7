"""MIND reader on synthetic TSV files in the real layout, and on broken copies of them."""

from __future__ import annotations

import pytest
from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError
from itdr_hf.pipeline import Selection
from itdr_hf.sources.mind import BEHAVIORS, NEWS, Mind
from itdr_hf.synthetic.mind import write_mind

BEHAVIOR_LINES = [
    "1\tU1\t11/12/2019 3:00:00 PM\tN1 N2\tN3-0 N4-1 N5-1",
    "2\tU1\t11/11/2019 9:05:58 AM\tN1 N2\tN5-1 N6-0",
    "3\tU2\t11/11/2019 12:30:00 AM\t\tN6-1",
]


@pytest.fixture
def folder(tmp_path):
    return write_mind(tmp_path / "MINDsmall_train", n_users=20, n_news=60, n_impressions=200, seed=6)


def read(folder, **options):
    return Mind().read(folder, BuildConfig(**options))


def test_history_clicks_come_first_untimed_then_clicked_impressions(folder):
    (folder / BEHAVIORS).write_text("\n".join(BEHAVIOR_LINES) + "\n")
    inter = read(folder).interactions
    rows = list(inter[["user", "item", "timestamp"]].itertuples(index=False, name=None))
    assert rows == [
        ("U1", "N1", -1), ("U1", "N2", -1),  # history, from U1's earliest line, untimed
        ("U2", "N6", 1573432200),  # 12:30 AM is 00:30
        ("U1", "N5", 1573463158),  # clicked on two lines: kept once, at the earlier click
        ("U1", "N4", 1573570800),
    ]
    assert inter["rating"].isna().all()


def test_news_fields(folder):
    items = read(folder).items
    first = (folder / NEWS).read_text().splitlines()[0].split("\t")
    assert items.at[first[0], "title"] == first[3]
    assert items.at[first[0], "categories"] == [first[1], first[2]]
    assert items.at[first[0], "details"] == {"abstract": first[4]}
    no_abstract = (folder / NEWS).read_text().splitlines()[3].split("\t")
    assert no_abstract[4] == "" and items.at[no_abstract[0], "details"] == {}


def test_bad_time_and_impressions_are_counted_with_lines(folder):
    lines = (folder / BEHAVIORS).read_text().splitlines()
    lines[1] = lines[1].replace("/2019 ", "/2019T", 1)
    lines[3] = lines[3].rsplit("\t", 1)[0] + "\tN1 N2"
    (folder / BEHAVIORS).write_text("\n".join(lines) + "\n")
    summary = next(s for s in read(folder).skipped_lines if s["file"].endswith(BEHAVIORS))
    assert summary["skipped"] == 2
    assert summary["examples"][0].startswith("line 2, field 'time': not a time like 11/11/2019 9:05:58 AM")
    assert summary["examples"][1] == "line 4, field 'impressions': impressions must look like 'N1-1 N2-0': 'N1 N2'"


def test_too_many_bad_lines_fail(folder):
    lines = (folder / BEHAVIORS).read_text().splitlines()
    (folder / BEHAVIORS).write_text("\n".join(l if i % 3 else l + "\textra" for i, l in enumerate(lines)) + "\n")
    with pytest.raises(DataError, match=f"{BEHAVIORS}: \\d+ of \\d+ lines could not be read.*line 1: expected 5"):
        read(folder)


def test_missing_title_is_a_bad_line(folder):
    lines = (folder / NEWS).read_text().splitlines()
    fields = lines[2].split("\t")
    fields[3] = ""
    lines[2] = "\t".join(fields)
    (folder / NEWS).write_text("\n".join(lines) + "\n")
    tables = read(folder)
    assert fields[0] not in tables.items.index
    summary = next(s for s in tables.skipped_lines if s["file"].endswith(NEWS))
    assert summary["examples"] == ["line 3, field 'title': empty title"]


def test_wrong_encoding_names_the_line(folder):
    raw = (folder / NEWS).read_bytes().splitlines(keepends=True)
    raw[4] = raw[4].replace(b"What", b"Wh\xe4t")
    (folder / NEWS).write_bytes(b"".join(raw))
    with pytest.raises(DataError, match=f"{NEWS}, line 5: byte"):
        read(folder)


@pytest.mark.parametrize("name", [BEHAVIORS, NEWS])
def test_empty_file_is_an_error(folder, name):
    (folder / name).write_bytes(b"")
    with pytest.raises(DataError, match=f"{name}: file is empty"):
        read(folder)


def test_demo_build_loads(tmp_path):
    out = tmp_path / "itdr"
    result = build_dataset(out, Selection(sources=("mind",), demo=True, strict=True), BuildConfig())
    assert {(s.subtask, s.source) for s in result.stats} == {
        ("top_k_recommendation", "mind"), ("target_user_identification", "mind"),
    }
    for config in get_dataset_config_names(str(out)):
        splits = load_dataset(str(out), config)
        assert sum(len(s) for s in splits.values()) > 0
