"""What reading a source drops or lacks is counted, reported, and bounded by the bad-line budget."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from itdr_hf import build_dataset
from itdr_hf.cli import main
from itdr_hf.config import BuildConfig
from itdr_hf.errors import DataError
from itdr_hf.pipeline import Selection


def _selection(folder: Path) -> Selection:
    return Selection(sources=("movielens_32m",), data_dir=str(folder), strict=True)


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_truncated_item_file_fails_instead_of_shrinking_the_build(tmp_path, ml32m_copy, capsys):
    output = tmp_path / "itdr"
    build_dataset(output, _selection(ml32m_copy), BuildConfig())
    before = _digests(output)
    movies = (ml32m_copy / "movies.csv").read_text().splitlines()
    (ml32m_copy / "movies.csv").write_text("\n".join(movies[:2]) + "\n")  # header + one movie
    assert main(["--sources", "movielens_32m", "--data-dir", str(ml32m_copy), "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert "interactions" in err and "name an item missing from the item file" in err and "--max-bad-line-fraction" in err
    assert _digests(output) == before


def test_rows_with_unknown_items_are_counted_per_source(tmp_path, ml32m_copy, capsys):
    ratings = pd.read_csv(ml32m_copy / "ratings.csv")
    movies = (ml32m_copy / "movies.csv").read_text().splitlines()
    dropped = movies.pop(1)
    (ml32m_copy / "movies.csv").write_text("\n".join(movies) + "\n")
    movie_id = int(dropped.split(",")[0])
    expected = int((ratings["movieId"] == movie_id).sum())
    assert expected > 0
    output = tmp_path / "itdr"
    args = ["--sources", "movielens_32m", "--data-dir", str(ml32m_copy), "--output", str(output), "--workers", "1"]
    assert main([*args, "--max-bad-line-fraction", "0.05"]) == 0
    printed = capsys.readouterr().out
    assert f"skipped {expected} of {len(ratings)} movielens_32m interactions whose item is not in the item file " \
        f"(first: {movie_id})" in printed
    report = json.loads((output / "build_report.json").read_text())["sources"]["movielens_32m"]
    assert report["unknown_item_rows"] == expected and report["interactions"] == len(ratings)
    assert report["unknown_item_examples"] == [str(movie_id)]


def test_a_clean_source_reports_zero_unknown_items(demo_build):
    report = json.loads((demo_build / "build_report.json").read_text())
    assert report["generator"] == "itdr-hf"
    assert {name: info["unknown_item_rows"] for name, info in report["sources"].items()} == {
        "movielens_32m": 0, "movielens_1m": 0,
    }


def test_an_absent_and_a_header_only_optional_file_are_the_same(tmp_path, ml32m_copy, capsys):
    header = (ml32m_copy / "tags.csv").read_text().splitlines()[0]
    (ml32m_copy / "tags.csv").unlink()
    absent = build_dataset(tmp_path / "absent", _selection(ml32m_copy), BuildConfig())
    (ml32m_copy / "tags.csv").write_text(header + "\n")
    header_only = build_dataset(tmp_path / "header", _selection(ml32m_copy), BuildConfig())
    assert _digests(tmp_path / "absent") == _digests(tmp_path / "header")
    for result in (absent, header_only):
        effect = result.sources["movielens_32m"]["absent_optional_files"]
        assert list(effect) == ["tags.csv"] and "target user identification describes raters" in effect["tags.csv"]
    assert main(["--sources", "movielens_32m", "--data-dir", str(ml32m_copy), "--output", str(tmp_path / "cli")]) == 0
    assert "movielens_32m: optional tags.csv absent or empty: no user tags" in capsys.readouterr().out


def test_a_present_optional_file_is_not_reported(demo_build):
    report = json.loads((demo_build / "build_report.json").read_text())
    assert report["sources"]["movielens_32m"]["absent_optional_files"] == {}


def test_the_budget_counts_unknown_items_exactly(ml32m_copy):
    """At the limit the build passes; one row over, it fails."""
    ratings = pd.read_csv(ml32m_copy / "ratings.csv")
    movies = (ml32m_copy / "movies.csv").read_text().splitlines()
    dropped = movies.pop(1)
    (ml32m_copy / "movies.csv").write_text("\n".join(movies) + "\n")
    count = int((ratings["movieId"] == int(dropped.split(",")[0])).sum())
    from itdr_hf.pipeline import run

    run(_selection(ml32m_copy), BuildConfig(max_bad_line_fraction=count / len(ratings)))
    with pytest.raises(DataError, match=f"{count:,} of {len(ratings):,} interactions"):
        run(_selection(ml32m_copy), BuildConfig(max_bad_line_fraction=(count - 1) / len(ratings)))


def test_generation_freezes_the_sources_and_restores_the_collector():
    import gc

    from itdr_hf.pipeline import GC_YOUNG_THRESHOLD, _collector_skips_the_sources

    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with _collector_skips_the_sources():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] >= GC_YOUNG_THRESHOLD
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_callers_own_frozen_objects_stay_frozen():
    import gc

    from itdr_hf.pipeline import _collector_skips_the_sources

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with _collector_skips_the_sources():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
