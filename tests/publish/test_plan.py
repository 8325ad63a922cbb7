"""Layer 1: ``plan_release`` is a pure function from a build folder (and the remote listing) to a commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete

from itdr_hf.card import InvalidBuild
from itdr_hf.publish import PublishError, plan_release


def _local_files(folder: Path) -> set[str]:
    return {"README.md"} | {str(p.relative_to(folder)) for p in folder.glob("*/*.parquet")}


def test_plan_uploads_the_card_and_every_parquet_file(demo_build: Path):
    plan = plan_release(demo_build, [], "1.0.0", repo_id="org/itdr")
    assert {f.path_in_repo for f in plan.additions} == _local_files(demo_build)
    assert plan.tag == "v1.0.0"
    assert plan.commit_message.startswith("Release v1.0.0")
    assert plan.deletions == ()
    assert "all" in plan.configs and "rating_prediction" in plan.configs
    assert all(f.size == f.local_path.stat().st_size for f in plan.additions)
    assert "build_report.json" not in {f.path_in_repo for f in plan.additions}


def test_plan_deletes_files_of_vanished_configs_and_stale_shards_only(demo_build: Path):
    remote = [
        ".gitattributes",
        "LICENSE.md",
        "README.md",
        "rating_prediction/train-00000-of-00001.parquet",
        "rating_prediction/train-00001-of-00002.parquet",  # a shard the new build no longer has
        "cross_domain_recommendation/train-00000-of-00001.parquet",  # a config that vanished
        "cross_domain_recommendation/test-00000-of-00001.parquet",
    ]
    plan = plan_release(demo_build, remote, "1.1.0", repo_id="org/itdr")
    assert plan.deletions == (
        "cross_domain_recommendation/test-00000-of-00001.parquet",
        "cross_domain_recommendation/train-00000-of-00001.parquet",
        "rating_prediction/train-00001-of-00002.parquet",
    )
    ops = plan.operations()
    assert [o.path_in_repo for o in ops if isinstance(o, CommitOperationDelete)] == list(plan.deletions)
    assert len([o for o in ops if isinstance(o, CommitOperationAdd)]) == len(plan.additions)
    # each call gives fresh operations: huggingface_hub refuses to commit an addition twice
    assert plan.operations()[0] is not ops[0]


def test_plan_card_is_the_folder_card(demo_build: Path):
    plan = plan_release(demo_build, [], "1.0.0", repo_id="org/itdr")
    assert plan.card.data.to_dict()["pretty_name"].startswith("ITDR")
    assert "## Citation" in plan.card.text


def test_plan_warns_when_the_card_names_another_repo(demo_build: Path):
    plan = plan_release(demo_build, [], "1.0.0", repo_id="org/itdr")
    assert any("--repo-id org/itdr" in w for w in plan.warnings)
    assert not any("--repo-id" in w for w in plan_release(demo_build, [], "1.0.0", repo_id="itdr").warnings)


def test_describe_lists_files_sizes_message_and_tag(demo_build: Path):
    remote = ["old_config/train-00000-of-00001.parquet"]
    text = plan_release(demo_build, remote, "1.0.0", repo_id="org/itdr").describe()
    readme_size = (demo_build / "README.md").stat().st_size
    assert f"+ README.md ({readme_size:,} bytes)" in text
    assert "+ all/train-00000-of-00001.parquet" in text
    assert "- old_config/train-00000-of-00001.parquet" in text
    assert "tag: v1.0.0" in text and "commit message: Release v1.0.0" in text


@pytest.mark.parametrize("version", ["v1.0.0", "1.0", "latest", ""])
def test_plan_refuses_a_bad_version(demo_build: Path, version: str):
    with pytest.raises(PublishError, match="version must look like 1.0.0"):
        plan_release(demo_build, [], version)


def test_plan_refuses_a_folder_whose_card_does_not_match(release_folder: Path):
    for path in (release_folder / "top_k_recommendation").glob("validation-*"):
        path.unlink()
    with pytest.raises(InvalidBuild, match="'top_k_recommendation' has no validation Parquet file"):
        plan_release(release_folder, [], "1.0.0")


def test_plan_refuses_a_folder_without_card(release_folder: Path):
    (release_folder / "README.md").unlink()
    with pytest.raises(InvalidBuild, match="README.md is missing"):
        plan_release(release_folder, [], "1.0.0")
