"""--output may only replace an earlier build: never the user's files, never the raw data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from itdr_hf import build_dataset
from itdr_hf.cli import main
from itdr_hf.config import BuildConfig
from itdr_hf.errors import ConfigError
from itdr_hf.outdir import is_itdr_build, remove_stale_staging
from itdr_hf.pipeline import Selection

SMALL = Selection(subtasks=("rating_prediction",), sources=("movielens_32m",), demo=True, strict=True)
SMALL_ARGS = ["--demo", "--sources", "movielens_32m", "--subtasks", "rating_prediction", "--workers", "1"]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_ordinary_folder_is_refused_and_kept(tmp_path, capsys):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("years of work")
    (mine / "figures").mkdir()
    (mine / "figures" / "plot.png").write_bytes(b"\x89PNG")
    before = tree(mine)
    assert main([*SMALL_ARGS, "--output", str(mine)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"--output {mine} is a folder that is not an itdr build" in err and "--overwrite" in err
    assert tree(mine) == before
    assert [p.name for p in tmp_path.iterdir()] == ["thesis"]


def test_output_dot_in_an_ordinary_folder_is_refused(tmp_path, monkeypatch, capsys):
    (tmp_path / "notes.txt").write_text("keep me")
    monkeypatch.chdir(tmp_path)
    assert main([*SMALL_ARGS, "--output", "."]) == 2
    assert "is a folder that is not an itdr build (it holds notes.txt)" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_overwrite_replaces_an_ordinary_folder(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "junk.txt").write_text("x")
    build_dataset(target, SMALL, BuildConfig(), overwrite=True)
    assert not (target / "junk.txt").exists() and is_itdr_build(target)


def test_an_earlier_build_and_an_empty_folder_are_replaced(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    build_dataset(target, SMALL, BuildConfig())  # empty folder: nothing to lose
    first = tree(target)
    assert json.loads(first["build_report.json"])["generator"] == "itdr-hf"
    build_dataset(target, SMALL, BuildConfig())  # our own earlier build
    assert tree(target) == first


def test_a_build_without_the_marker_is_recognised_by_layout_only(tmp_path):
    target = tmp_path / "out"
    build_dataset(target, SMALL, BuildConfig())
    report = json.loads((target / "build_report.json").read_text())
    del report["generator"]  # as builds made before the marker existed
    (target / "build_report.json").write_text(json.dumps(report))
    assert is_itdr_build(target)
    (target / "rating_prediction" / "notes.txt").write_text("mine")
    assert not is_itdr_build(target)
    (target / "rating_prediction" / "notes.txt").unlink()
    (target / ".git").mkdir()
    assert not is_itdr_build(target)


@pytest.mark.parametrize("where", ["same", "inside", "holding"])
def test_output_never_touches_the_data_dir(tmp_path, ml32m_copy, where):
    output = {"same": ml32m_copy, "inside": ml32m_copy / "itdr", "holding": tmp_path}[where]
    before = tree(ml32m_copy)
    selection = Selection(sources=("movielens_32m",), data_dir=str(ml32m_copy), strict=True)
    with pytest.raises(ConfigError, match="the data directory"):
        build_dataset(output, selection, BuildConfig(), overwrite=True)
    assert tree(ml32m_copy) == before
    assert not (ml32m_copy / "itdr").exists()


def test_the_data_dir_is_refused_through_a_symlink(tmp_path, ml32m_copy):
    link = tmp_path / "link"
    link.symlink_to(ml32m_copy)
    selection = Selection(sources=("movielens_32m",), data_dir=str(ml32m_copy), strict=True)
    with pytest.raises(ConfigError, match="the data directory"):
        build_dataset(link / "out", selection, BuildConfig())


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_gives_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "itdr_hf", *SMALL_ARGS, "--output", str(locked / "itdr")],
            capture_output=True, text=True, check=False,
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert f"cannot write --output {locked / 'itdr'}: Permission denied" in result.stderr


def test_stale_staging_of_dead_builds_is_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=False)
    pid = int(dead.stdout)
    stale = tmp_path / f".itdr.partial-{pid}-abcd1234"
    live = tmp_path / f".itdr.partial-{os.getppid()}-abcd1234"  # a running process's: kept
    other = tmp_path / f".other.partial-{pid}-abcd1234"  # another output's: kept
    for folder in (stale, live, other):
        (folder / "rating_prediction").mkdir(parents=True)
    assert remove_stale_staging(tmp_path / "itdr") == [stale]
    assert live.exists() and other.exists() and not stale.exists()
    shutil.rmtree(live)
    build_dataset(tmp_path / "other", SMALL, BuildConfig())
    assert not other.exists()


def test_a_collapsing_rebuild_warns(tmp_path, capsys):
    output = tmp_path / "itdr"
    assert main([*SMALL_ARGS, "--output", str(output)]) == 0
    assert "WARNING" not in capsys.readouterr().err
    assert main([*SMALL_ARGS, "--cap-per-cell", "3", "--output", str(output)]) == 0
    err = capsys.readouterr().err
    assert "WARNING: this build has 3 rows; the build it replaced" in err



def test_an_unwritable_parent_gives_one_line_even_as_root(tmp_path, monkeypatch, capsys):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    assert main([*SMALL_ARGS, "--output", str(tmp_path / "itdr")]) == 2
    err = capsys.readouterr().err
    assert err == f"itdr-build: error: cannot write --output {tmp_path / 'itdr'}: Permission denied in {tmp_path}; " \
        "choose a folder you can write\n"
