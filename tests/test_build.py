"""End to end: build → Hub-layout folder → load_dataset, plus determinism and atomic output."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.builder import Itdr, build_hash
from itdr_hf.config import BuildConfig
from itdr_hf.errors import ConfigError, DataError, ItdrError, SourceUnavailable
from itdr_hf.pipeline import Selection
from itdr_hf.sources import Source

MOVIELENS = ("movielens_32m", "movielens_1m")
CONFIGS = [
    "rating_prediction", "top_k_recommendation", "next_item_recommendation",
    "user_attribute_prediction", "target_user_identification", "all",
]


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_every_config_loads_with_default_verification(demo_build):
    assert get_dataset_config_names(str(demo_build)) == CONFIGS
    total = 0
    for config in CONFIGS[:-1]:
        ds = load_dataset(str(demo_build), config)
        assert set(ds) == {"train", "validation", "test"}
        assert all(ds[s].num_rows > 0 for s in ds)
        assert set(ds["train"]["task"]) == {config}
        total += sum(ds[s].num_rows for s in ds)
    everything = load_dataset(str(demo_build), "all")
    assert sum(everything[s].num_rows for s in everything) == total


def test_hub_layout_and_card(demo_build):
    assert not list(demo_build.glob("*.py")), "no loading script may ship"
    for config in CONFIGS:
        for split in ("train", "validation", "test"):
            assert (demo_build / config / f"{split}-00000-of-00001.parquet").is_file()
    card = (demo_build / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert [c["config_name"] for c in meta["configs"]] == CONFIGS
    assert meta["configs"][0]["default"] is True
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    assert set(infos) == set(CONFIGS)
    assert {f["name"] for f in infos["rating_prediction"]["features"]} >= {"rating", "rating_min", "messages"}
    assert "demo build" in card


def test_two_builds_are_byte_identical(demo_build, tmp_path):
    again = tmp_path / "again"
    build_dataset(again, Selection(sources=MOVIELENS, demo=True, strict=True), BuildConfig())
    assert digests(again) == digests(demo_build)


def test_a_failed_build_leaves_the_existing_output_untouched(demo_build, tmp_path, ml32m_copy):
    output = tmp_path / "itdr"
    build_dataset(output, Selection(sources=("movielens_32m",), demo=True, strict=True), BuildConfig())
    before = digests(output)
    (ml32m_copy / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,2,3.0\n")
    with pytest.raises(DataError, match="ratings.csv"):
        build_dataset(output, Selection(sources=("movielens_32m",), data_dir=str(ml32m_copy), strict=True), BuildConfig())
    assert digests(output) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unknown_names_fail_with_the_known_ones():
    with pytest.raises(ConfigError, match="unknown source 'movielens_99'; known: .*movielens_1m"):
        Selection(sources=("movielens_99",))
    with pytest.raises(ConfigError, match="unknown subtask 'rating'; known: .*rating_prediction"):
        Selection(subtasks=("rating",))


def test_a_pair_outside_the_papers_matrix_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no cell of the paper's matrix"):
        build_dataset(tmp_path / "x", Selection(subtasks=("rating_prediction",), sources=("movielens_1m",), demo=True, strict=True))


def test_a_named_source_missing_from_the_data_dir_is_an_error(tmp_path):
    (tmp_path / "raw").mkdir()
    with pytest.raises(DataError, match=r"movielens_32m: incomplete source folder: ratings\.csv: missing; movies\.csv: missing"):
        build_dataset(tmp_path / "x", Selection(sources=("movielens_32m",), data_dir=str(tmp_path / "raw"), strict=True))


def test_builder_hash_follows_inputs_and_options(ml32m_copy):
    selection = Selection(sources=("movielens_32m",), data_dir=str(ml32m_copy), strict=True)
    base = build_hash(selection, BuildConfig())
    assert build_hash(selection, BuildConfig()) == base
    assert build_hash(selection, BuildConfig(seed=1)) != base
    with open(ml32m_copy / "ratings.csv", "a") as fh:
        fh.write("1,1,4.0,964982703\n")
    assert build_hash(selection, BuildConfig()) != base


def test_the_builder_class_runs_directly(tmp_path):
    builder = Itdr.from_options("rating_prediction", sources=("movielens_32m",), demo=True, strict=True,
                                cache_dir=str(tmp_path))
    builder.download_and_prepare()
    ds = builder.as_dataset()
    assert ds["train"].num_rows > 0 and ds["train"][0]["task"] == "rating_prediction"


def test_unavailable_sources_are_skipped_with_the_reason(tmp_path, monkeypatch):
    def offline(self, dl_manager):
        raise SourceUnavailable(f"{self.name}: could not download (offline test)")

    monkeypatch.setattr(Source, "_download", offline)
    (tmp_path / "raw").mkdir()
    selection = Selection(subtasks=("rating_prediction",), data_dir=str(tmp_path / "raw"))
    with pytest.raises(ItdrError, match=r"no cell could be built:\n  - rating_prediction/movielens_32m: movielens_32m: could not download"):
        build_dataset(tmp_path / "x", selection, BuildConfig())
    assert not (tmp_path / "x").exists()


def test_parallel_cell_generation_gives_the_same_bytes(demo_build, tmp_path):
    again = tmp_path / "parallel"
    build_dataset(again, Selection(sources=MOVIELENS, demo=True, strict=True), BuildConfig(), workers=2)
    assert digests(again) == digests(demo_build)


def test_a_build_reads_each_source_once_and_hands_its_cells_to_every_config(tmp_path, monkeypatch):
    """The seven subtask configs and ``all`` used to rerun the pipeline each (nine runs, held together
    by caches keyed by object ids); now one run generates the cells and each builder picks its own."""
    import itdr_hf.pipeline as pipeline

    reads: list[str] = []
    real_load = pipeline.load_source
    monkeypatch.setattr(pipeline, "load_source", lambda name, *a: reads.append(name) or real_load(name, *a))
    selection = Selection(sources=MOVIELENS, demo=True, strict=True)
    result = build_dataset(tmp_path / "out", selection, BuildConfig(cap_per_cell=20, cap_per_domain=5))
    assert sorted(reads) == sorted(MOVIELENS)
    assert list(result.configs) == CONFIGS


def test_a_builder_given_cells_does_not_run_the_pipeline(tmp_path, monkeypatch):
    import itdr_hf.pipeline as pipeline

    plan = pipeline.run(Selection(sources=("movielens_32m",), demo=True), BuildConfig(cap_per_cell=20, cap_per_domain=5))
    monkeypatch.setattr(pipeline, "load_source", lambda *a: pytest.fail("the pipeline ran again"))
    builder = Itdr.from_options("all", sources=("movielens_32m",), demo=True, cache_dir=str(tmp_path), cells=plan.cells)
    builder.download_and_prepare(output_dir=str(tmp_path / "prepared"))
    rows = builder.as_dataset()
    assert sum(ds.num_rows for ds in rows.values()) == sum(c.size for c in plan.cells)
    assert {r["task"] for r in rows["train"]} == {c.subtask for c in plan.cells}
