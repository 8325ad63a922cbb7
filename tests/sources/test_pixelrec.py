"""PixelRec reader on synthetic Pixel200K files in the real layout, and on broken copies of them."""

from __future__ import annotations

import shutil

import pytest
from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError
from itdr_hf.pipeline import Selection
from itdr_hf.sources.pixelrec import SUBSET, PixelRec
from itdr_hf.synthetic.westlake import write_pixelrec


@pytest.fixture
def folder(tmp_path):
    return write_pixelrec(tmp_path / "PixelRec", n_users=30, n_items=60, per_user=8, seed=8)


def read(folder, **options):
    return PixelRec().read(folder, BuildConfig(**options))


def test_interactions_and_item_text(folder):
    tables = read(folder)
    lines = (folder / "interactions" / SUBSET).read_text().splitlines()
    assert lines[0] == "item_id,user_id,timestamp"
    item, user, when = lines[1].split(",")
    first = tables.interactions.iloc[0]
    assert (first["user"], first["item"], first["timestamp"]) == (user, item, int(when))
    items = tables.items
    assert items.at["i0", "title"] == "How I made street noodles"
    assert items.at["i7", "title"].startswith("视频7")  # no English title: the Chinese one
    assert len(items.at["i1", "categories"]) == 1
    assert items.at["i1", "details"]["description"].endswith("with a second line.")  # quoted newline kept
    assert items.at["i0", "details"] == {}
    assert tables.texts.empty  # no user text: TUI shows raters instead of comments


def test_milliseconds_are_converted(folder):
    path = folder / "interactions" / SUBSET
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], *(f"{line}123" for line in lines[1:])]) + "\n")
    assert read(folder).interactions["timestamp"].iloc[0] == int(lines[1].split(",")[2])


def test_authors_layout_is_found(tmp_path, folder):
    other = tmp_path / "hllm"
    (other / "dataset").mkdir(parents=True)
    (other / "information").mkdir()
    shutil.copy(folder / "interactions" / SUBSET, other / "dataset" / SUBSET)
    shutil.copy(folder / "item_info" / SUBSET, other / "information" / SUBSET)
    assert PixelRec().find_in(other / "dataset") is None
    assert PixelRec().find_in(other) == other
    assert len(read(other).interactions) == len(read(folder).interactions)


def test_short_interaction_line_is_a_counted_bad_line(folder):
    path = folder / "interactions" / SUBSET
    lines = path.read_text().splitlines()
    lines[3] = "i1,u1"
    path.write_text("\n".join(lines) + "\n")
    tables = read(folder)
    assert len(tables.interactions) == len(lines) - 2
    assert tables.skipped_lines[0]["examples"] == ["line 4: expected 3 fields separated by ',', got 2: 'i1,u1'"]


def test_item_info_without_title_column(folder):
    path = folder / "item_info" / SUBSET
    text = path.read_text(encoding="utf-8").replace(",title,", ",name,", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=r"line 1: header lacks \['title'\]"):
        read(folder)


def test_empty_timestamp_or_id_is_a_counted_bad_line_naming_line_and_field(folder):
    path = folder / "interactions" / SUBSET
    lines = path.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ","
    lines[4] = "," + lines[4].split(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    tables = read(folder)
    assert len(tables.interactions) == len(lines) - 3
    assert "" not in set(tables.interactions["item"])
    assert tables.skipped_lines[0]["examples"] == [
        "line 3, field 'timestamp': empty value", "line 5, field 'item_id': empty value",
    ]


def test_wrong_encoding(folder):
    path = folder / "item_info" / SUBSET
    path.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))
    with pytest.raises(DataError, match="not valid utf-8"):
        read(folder)


@pytest.mark.parametrize("sub", ["interactions", "item_info"])
def test_empty_file_is_an_error(folder, sub):
    (folder / sub / SUBSET).write_bytes(b"")
    with pytest.raises(DataError, match="file is empty"):
        read(folder)


def test_demo_build_loads(tmp_path):
    out = tmp_path / "itdr"
    result = build_dataset(out, Selection(sources=("pixelrec",), demo=True, strict=True), BuildConfig())
    assert {(s.subtask, s.source) for s in result.stats} == {
        ("top_k_recommendation", "pixelrec"), ("next_item_recommendation", "pixelrec"),
        ("target_user_identification", "pixelrec"),
    }
    for config in get_dataset_config_names(str(out)):
        splits = load_dataset(str(out), config)
        assert sum(len(s) for s in splits.values()) > 0
