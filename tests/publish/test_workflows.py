"""The GitHub Actions workflows: triggers, permissions and the commands the release relies on."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def _load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return workflow


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def _uses(job: dict) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def test_ci_runs_the_tests_on_push_and_pull_request_on_three_pythons():
    ci = _load("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    job = ci["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.10", "3.11", "3.12"]
    runs = _runs(job)
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in runs
    assert runs.index("torch==2.13.0") < runs.index('-e ".[test]" -e ./eval')
    assert "python -m pytest" in runs
    assert ci["permissions"] == {"contents": "read"}


def test_release_triggers_on_a_published_release_only():
    wf = _load("publish.yml")
    assert wf["on"] == {"release": {"types": ["published"]}}
    assert wf["permissions"] == {"contents": "read"}
    assert wf["concurrency"]["cancel-in-progress"] is False


def test_release_order_packages_then_dataset_then_pypi():
    jobs = _load("publish.yml")["jobs"]
    assert jobs["dataset"]["needs"] == "packages"
    assert set(jobs["pypi"]["needs"]) == {"packages", "dataset"}


def test_dataset_job_builds_then_publishes_with_the_release_version_by_trusted_publishing():
    wf = _load("publish.yml")
    version_step = next(s for s in wf["jobs"]["packages"]["steps"] if s.get("id") == "version")
    assert 'version="${RELEASE_TAG#v}"' in version_step["run"]
    assert wf["env"]["RELEASE_TAG"] == "${{ github.event.release.tag_name }}"
    job = wf["jobs"]["dataset"]
    assert job["permissions"]["id-token"] == "write"
    assert "datasets/{0}" in job["env"]["HF_OIDC_RESOURCE"]
    assert job["env"]["VERSION"] == "${{ needs.packages.outputs.version }}"
    runs = _runs(job)
    build = runs.index("itdr-build --data-dir raw --output build/itdr")
    dry = runs.index('python -m itdr_hf.publish_cli build/itdr --repo "$HF_REPO" --version "$VERSION" --dry-run')
    real = runs.index('python -m itdr_hf.publish_cli build/itdr --repo "$HF_REPO" --version "$VERSION"\n')
    assert build < dry < real
    assert "ITDR_RAW_DATA_URL" in runs and "actions/cache/restore@v4" in _uses(job)


def test_pypi_job_publishes_both_packages_by_trusted_publishing():
    wf = _load("publish.yml")
    job = wf["jobs"]["pypi"]
    assert job["permissions"] == {"id-token": "write"}
    assert job["strategy"]["matrix"]["package"] == ["itdr-hf", "itdr-eval"]
    publish = next(s for s in job["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@"))
    assert publish["with"]["packages-dir"] == "dist/${{ matrix.package }}/"
    build = _runs(wf["jobs"]["packages"])
    assert "python -m build . --outdir dist/itdr-hf" in build and "python -m build eval --outdir dist/itdr-eval" in build


@pytest.mark.parametrize("name", ["ci.yml", "publish.yml"])
def test_tokens_reach_commands_only_through_the_environment(name: str):
    for job in _load(name)["jobs"].values():
        assert "HF_TOKEN" not in _runs(job)


def _fetch_step(job: dict) -> str:
    return next(step["run"] for step in job["steps"] if "ml-latest-small" in step.get("name", ""))


def test_ci_fetches_the_real_movielens_sample_pinned_to_the_tested_copy(ml_small):
    """GitHub has no ../shared/data: CI fetches the zip before the tests and checks the content we test on."""
    job = _load("ci.yml")["jobs"]["test"]
    names = [step.get("name", "") for step in job["steps"]]
    assert names.index("Fetch ml-latest-small (checksum-pinned)") < names.index("Test")
    script = _fetch_step(job)
    assert "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip" in script
    pinned = sorted(line.strip() for line in script.splitlines() if line.strip().endswith(".csv") and "  " in line.strip())
    assert pinned == sorted((ml_small / "SHA256SUMS").read_text().splitlines())


def _run_fetch(tmp_path: Path, files: dict[str, bytes], name: str) -> tuple[subprocess.CompletedProcess, Path]:
    """The step's script, with a stand-in curl that serves a zip of ``files``."""
    source = tmp_path / name / "zipsrc" / "ml-latest-small"
    source.mkdir(parents=True)
    for file, data in files.items():
        (source / file).write_bytes(data)
    archive = tmp_path / name / "ml.zip"
    subprocess.run(["zip", "-qr", str(archive), "ml-latest-small"], cwd=source.parent, check=True)
    bin_dir = tmp_path / name / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(f'#!/bin/sh\nwhile [ "$1" != "-o" ]; do shift; done\ncp {archive} "$2"\n')
    (bin_dir / "curl").chmod(0o755)
    workspace = tmp_path / name / "work" / "itdr"
    workspace.mkdir(parents=True)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    script = _fetch_step(_load("ci.yml")["jobs"]["test"])
    result = subprocess.run(["bash", "-e", "-c", script], cwd=workspace, env=env, capture_output=True, text=True, check=False)
    return result, tmp_path / name / "work" / "shared" / "data" / "ml-latest-small"


@pytest.mark.skipif(not all(shutil.which(t) for t in ("bash", "unzip", "zip", "sha256sum")), reason="needs zip tools")
def test_ci_fetch_step_unpacks_and_verifies(ml_small, tmp_path):
    files = {csv.name: csv.read_bytes().replace(b"\n", b"\r\n") for csv in ml_small.glob("*.csv")}  # CRLF too
    result, fetched = _run_fetch(tmp_path, files, "good")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (fetched / "ratings.csv").read_bytes() == (ml_small / "ratings.csv").read_bytes()
    files["ratings.csv"] = files["ratings.csv"][:-100]  # upstream changed: the job must stop
    result, _ = _run_fetch(tmp_path, files, "changed")
    assert result.returncode != 0 and "ratings.csv: FAILED" in result.stdout
