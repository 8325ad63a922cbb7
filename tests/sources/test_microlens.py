"""MicroLens-100k reader on synthetic files in the real layout, and on broken copies of them."""

from __future__ import annotations

import pytest
from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError
from itdr_hf.pipeline import Selection
from itdr_hf.sources.microlens import CATEGORIES, COMMENTS, PAIRS, TITLES, MicroLens
from itdr_hf.synthetic.westlake import write_microlens


@pytest.fixture
def folder(tmp_path):
    return write_microlens(tmp_path / "MicroLens-100k", n_users=30, n_items=60, per_user=8, seed=7)


def read(folder, **options):
    return MicroLens().read(folder, BuildConfig(**options))


def test_pairs_titles_categories_and_comments(folder):
    tables = read(folder)
    pairs = (folder / PAIRS).read_text().splitlines()
    assert pairs[0] == "user,item,timestamp"
    user, item, millis = map(int, pairs[1].split(","))
    first = tables.interactions.iloc[0]
    assert (first["user"], first["item"], first["timestamp"]) == (user, item, millis // 1000)
    assert len(tables.interactions) == len(pairs) - 1 and tables.interactions["rating"].isna().all()
    assert tables.items.at[1, "title"] == "How I made street noodles"
    category = (folder / CATEGORIES).read_text().splitlines()[0].split(",")[1]
    assert tables.items.at[1, "categories"] == [category]
    comments = (folder / COMMENTS[0]).read_text().splitlines()
    assert len(tables.texts.authors()) == len(comments)
    with_tab = next(line for line in comments if line.count("\t") == 3)
    u, i, text = with_tab.split("\t", 2)
    fetched = tables.texts.fetch(tables.texts.authors().query("user == @u and item == @i", local_dict={"u": int(u), "i": int(i)}))
    assert list(fetched["text"]) == [" ".join(text.split())]


def test_titles_with_commas_quoted_or_not(folder):
    (folder / TITLES).write_text('1,"Cats, dogs and more"\n2,Noodles, the sequel\n3,\n')
    items = read(folder).items
    assert items.at[1, "title"] == "Cats, dogs and more"
    assert items.at[2, "title"] == "Noodles, the sequel"
    assert 3 not in items.index  # empty title: the video cannot be shown


def test_optional_files_may_be_missing(folder):
    (folder / CATEGORIES).unlink()
    (folder / COMMENTS[0]).unlink()
    tables = read(folder)
    assert "categories" not in tables.items.columns
    assert tables.texts.empty


def test_bad_title_and_comment_lines_are_counted(folder):
    lines = (folder / TITLES).read_text().splitlines()
    lines[2] = "video3,Some title"
    (folder / TITLES).write_text("\n".join(lines) + "\n")
    comments = (folder / COMMENTS[0]).read_text().splitlines()
    comments[1] = "no tabs at all"
    comments[2] = "x\t1\tnice"
    (folder / COMMENTS[0]).write_text("\n".join(comments) + "\n")
    tables = read(folder)
    by_file = {s["file"].rsplit("/", 1)[1]: s for s in tables.skipped_lines if "reason" not in s}
    assert by_file[TITLES]["examples"] == ["line 3, field 'item': expected an integer id and a title: 'video3,Some title'"]
    assert by_file[COMMENTS[0]]["examples"][0].startswith("line 2: expected 3 fields separated by '\\t', got 1")
    assert by_file[COMMENTS[0]]["examples"][1] == "line 3, field 'user': ids must be integers: 'x', '1'"


def test_too_many_bad_comment_lines_fail(folder):
    comments = (folder / COMMENTS[0]).read_text().splitlines()
    (folder / COMMENTS[0]).write_text("\n".join(c if i % 4 else c.replace("\t", " ") for i, c in enumerate(comments)) + "\n")
    with pytest.raises(DataError, match=r"MicroLens-100k_comment_en.txt: \d+ of \d+ lines could not be read"):
        read(folder)


def test_empty_pair_id_is_a_counted_bad_line_naming_line_and_field(folder):
    lines = (folder / PAIRS).read_text().splitlines()
    lines[5] = "3,,1650000000000"
    (folder / PAIRS).write_text("\n".join(lines) + "\n")
    tables = read(folder)
    assert len(tables.interactions) == len(lines) - 2
    assert tables.interactions["item"].dtype.kind == "i"  # not floats: ids stay '12', never '12.0'
    pairs = next(s for s in tables.skipped_lines if s["file"].endswith(PAIRS))
    assert pairs["skipped"] == 1 and pairs["examples"] == ["line 6, field 'item': empty value"]


def test_empty_titles_are_dropped_and_counted(folder):
    lines = (folder / TITLES).read_text().splitlines()
    item = lines[1].split(",", 1)[0]
    lines[1] = f"{item},"
    (folder / TITLES).write_text("\n".join(lines) + "\n")
    tables = read(folder)
    assert int(item) not in tables.items.index
    untitled = next(s for s in tables.skipped_lines if s.get("reason") == "empty title: video dropped")
    assert untitled["skipped"] == 1 and untitled["examples"] == [f"video {item}"]
    assert untitled["read"] == len(lines)


def test_wrong_encoding_in_titles_is_a_bad_line(folder):
    raw = (folder / TITLES).read_bytes().splitlines(keepends=True)
    raw[0] = raw[0].replace(b"noodles", b"nou\xe9dles")
    (folder / TITLES).write_bytes(b"".join(raw))
    summary = next(s for s in read(folder).skipped_lines if s["file"].endswith(TITLES))
    assert summary["examples"][0].startswith("line 1: not valid utf-8")


@pytest.mark.parametrize("name", [PAIRS, TITLES])
def test_empty_file_is_an_error(folder, name):
    (folder / name).write_bytes(b"")
    with pytest.raises(DataError, match=f"{name}: file is empty"):
        read(folder)


def test_demo_build_loads(tmp_path):
    out = tmp_path / "itdr"
    result = build_dataset(out, Selection(sources=("microlens",), demo=True, strict=True), BuildConfig())
    assert {(s.subtask, s.source) for s in result.stats} == {
        ("top_k_recommendation", "microlens"), ("next_item_recommendation", "microlens"),
        ("target_user_identification", "microlens"),
    }
    for config in get_dataset_config_names(str(out)):
        splits = load_dataset(str(out), config)
        assert sum(len(s) for s in splits.values()) > 0
