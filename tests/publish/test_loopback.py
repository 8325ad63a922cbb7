"""Layer 3: end to end against a Hub-compatible server on 127.0.0.1 (no network).

``itdr-publish`` writes through huggingface_hub's real client; ``load_dataset`` reads the
release back by its tag in a fresh process pointed at the server with ``HF_ENDPOINT``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.pipeline import Selection
from itdr_hf.publish import PublishError, PublishOptions, TagFailed, publish

from .conftest import TOKEN

REPO = "org/itdr"
# huggingface_hub's LFS upload passes raw bytes as `data=`, which its HTTP client deprecates: not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")


def _skip_validation(folder: Path) -> None:
    """The CLI test validates for real; the others publish the already-validated demo build faster."""


def _publish(folder: Path, hub, version: str, **kwargs):
    options = PublishOptions(repo_id=REPO, version=version, endpoint=hub.url, **{"private": False, "allow_demo": True, **kwargs})
    return publish(folder, options, token=TOKEN, echo=lambda s: None, validate=_skip_validation)


def _client_env(hub, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf_home"), HF_HUB_DISABLE_XET="1", HF_TOKEN=TOKEN)
    env.pop("HF_DATASETS_CACHE", None)
    return env


def _read_back(hub, tmp_path: Path, configs: list[str], revision: str) -> dict:
    code = (
        "import json, sys\n"
        "from datasets import load_dataset\n"
        "out = {}\n"
        f"for cfg in {configs!r}:\n"
        f"    ds = load_dataset({REPO!r}, cfg, revision={revision!r})\n"
        "    out[cfg] = {split: ds[split].num_rows for split in ds}\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=_client_env(hub, tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _expected_rows(folder: Path, config: str) -> dict[str, int]:
    info = next(i for i in json.loads(json.dumps(_card_infos(folder))) if i["config_name"] == config)
    return {s["name"]: s["num_examples"] for s in info["splits"]}


def _card_infos(folder: Path) -> list[dict]:
    from huggingface_hub import DatasetCard

    return DatasetCard.load(folder / "README.md").data.to_dict()["dataset_info"]


def test_cli_release_reads_back_by_tag_with_load_dataset(demo_build: Path, hub, tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "itdr_hf.publish_cli", str(demo_build), "--repo", REPO, "--version", "1.0.0", "--public", "--allow-demo"],
        env=_client_env(hub, tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    assert 'revision="v1.0.0"' in proc.stdout

    repo = hub.hub.repos[REPO]
    assert len(repo.commits) == 2  # the repo's initial commit + exactly one release commit
    assert repo.tags == {"v1.0.0": repo.branches["main"]}
    local = {"README.md"} | {str(p.relative_to(demo_build)) for p in demo_build.glob("*/*.parquet")}
    assert set(hub.hub.head_files(REPO)) == local | {".gitattributes"}
    assert hub.hub.head_files(REPO)["README.md"] == (demo_build / "README.md").read_bytes()

    configs = ["rating_prediction", "all"]
    assert _read_back(hub, tmp_path, configs, "v1.0.0") == {c: _expected_rows(demo_build, c) for c in configs}


def test_new_release_removes_vanished_configs_and_old_tag_still_serves_them(demo_build: Path, hub, tmp_path: Path):
    _publish(demo_build, hub, "1.0.0")
    smaller = tmp_path / "smaller" / "itdr"
    selection = Selection(subtasks=("rating_prediction",), sources=("movielens_32m",), demo=True, strict=True)
    build_dataset(smaller, selection, BuildConfig(), repo_id=REPO)
    _publish(smaller, hub, "1.1.0")

    repo = hub.hub.repos[REPO]
    head = set(hub.hub.head_files(REPO))
    assert not any(p.startswith("top_k_recommendation/") for p in head)
    assert set(repo.commits[repo.tags["v1.0.0"]].files) >= {"top_k_recommendation/train-00000-of-00001.parquet"}
    assert repo.tags["v1.1.0"] == repo.branches["main"]
    assert _read_back(hub, tmp_path, ["rating_prediction"], "v1.1.0") == {
        "rating_prediction": _expected_rows(smaller, "rating_prediction")
    }


def _changed_build(folder: Path) -> Path:
    """The same build with one shard rewritten (same rows, different bytes), so a release has a change."""
    import pyarrow.parquet as pq

    shard = folder / "rating_prediction" / "train-00000-of-00001.parquet"
    pq.write_table(pq.read_table(shard), shard, compression="gzip")
    return folder


def test_failed_commit_changes_nothing(demo_build: Path, release_folder: Path, hub):
    _publish(demo_build, hub, "1.0.0")
    _changed_build(release_folder)
    repo = hub.hub.repos[REPO]
    before = (dict(repo.branches), dict(repo.tags), len(repo.commits))
    hub.hub.fail_commit = True
    with pytest.raises(PublishError, match="nothing was released"):
        _publish(release_folder, hub, "1.1.0")
    assert (dict(repo.branches), dict(repo.tags), len(repo.commits)) == before


def test_failed_first_commit_leaves_the_empty_repository_and_says_so(demo_build: Path, hub):
    hub.hub.fail_commit = True
    with pytest.raises(PublishError, match="empty repository org/itdr created by this run was left in place"):
        _publish(demo_build, hub, "1.0.0")
    repo = hub.hub.repos[REPO]
    assert len(repo.commits) == 1 and repo.tags == {}  # only the Hub's initial commit
    assert ("DELETE", "/api/repos/delete") not in hub.hub.requests


def test_failed_tag_keeps_the_complete_commit_and_a_rerun_only_tags_it(demo_build: Path, hub):
    hub.hub.fail_tag = True
    with pytest.raises(TagFailed) as info:
        _publish(demo_build, hub, "1.0.0")
    repo = hub.hub.repos[REPO]
    assert info.value.commit_oid == repo.branches["main"] and repo.tags == {}
    commits = len(repo.commits)

    hub.hub.fail_tag = False
    result = _publish(demo_build, hub, "1.0.0")  # the documented retry: main holds this build, so no new commit
    assert len(repo.commits) == commits
    assert repo.tags == {"v1.0.0": info.value.commit_oid} and result.commit_oid == info.value.commit_oid


def test_same_build_under_a_new_version_only_tags_the_commit_that_holds_it(demo_build: Path, hub):
    first = _publish(demo_build, hub, "1.0.0")
    second = _publish(demo_build, hub, "1.0.1")
    repo = hub.hub.repos[REPO]
    assert second.commit_oid == first.commit_oid == repo.branches["main"]
    assert repo.tags == {"v1.0.0": first.commit_oid, "v1.0.1": first.commit_oid}


def test_existing_tag_is_refused_and_nothing_changes(demo_build: Path, hub):
    _publish(demo_build, hub, "1.0.0")
    repo = hub.hub.repos[REPO]
    commits = len(repo.commits)
    with pytest.raises(PublishError, match="tag v1.0.0 already exists"):
        _publish(demo_build, hub, "1.0.0")
    assert len(repo.commits) == commits


def test_concurrent_push_makes_the_release_fail_instead_of_merging(demo_build: Path, release_folder: Path, hub):
    _publish(demo_build, hub, "1.0.0")
    _changed_build(release_folder)
    repo = hub.hub.repos[REPO]

    class RacingApi(HfApi):
        def create_commit(self, *args, **kwargs):
            hub.hub.new_commit(repo, repo.branches["main"], "someone else", {**hub.hub.head_files(REPO), "NOTES.md": b"x"})
            return super().create_commit(*args, **kwargs)

    options = PublishOptions(repo_id=REPO, version="1.1.0", endpoint=hub.url, private=False, allow_demo=True)
    with pytest.raises(PublishError, match="the commit to org/itdr failed"):
        publish(
            release_folder, options, api=RacingApi(endpoint=hub.url, token=TOKEN), token=TOKEN, echo=lambda s: None,
            validate=_skip_validation,
        )
    assert set(repo.tags) == {"v1.0.0"}
    assert set(hub.hub.head_files(REPO)) == set(repo.commits[repo.tags["v1.0.0"]].files) | {"NOTES.md"}


def test_bad_token_is_a_clear_401_without_the_token(demo_build: Path, hub):
    bad = "hf_WrongTokenWrongToken0123456789"
    options = PublishOptions(repo_id=REPO, version="1.0.0", endpoint=hub.url, private=False, allow_demo=True)
    hub.hub.create(REPO)
    with pytest.raises(PublishError) as info:
        publish(demo_build, options, token=bad, echo=lambda s: None, validate=_skip_validation)
    message = str(info.value)
    assert "the Hub refused the token (401)" in message and "nothing was released" in message
    assert bad not in message
    assert hub.hub.repos[REPO].tags == {}


def _stream_back(hub, tmp_path: Path, configs: list[str], revision: str) -> dict:
    """Each config streamed from the server in a fresh process: rows per split and the first train row's id."""
    code = (
        "import json\n"
        "from datasets import load_dataset\n"
        "out = {}\n"
        f"for cfg in {configs!r}:\n"
        f"    ds = load_dataset({REPO!r}, cfg, revision={revision!r}, streaming=True)\n"
        "    out[cfg] = {split: sum(1 for _ in ds[split]) for split in ds}\n"
        "    out[cfg]['first_train_id'] = next(iter(ds['train']))['id']\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=_client_env(hub, tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_release_uploads_parquet_through_lfs_and_streams_back_by_tag(demo_build: Path, hub, tmp_path: Path):
    import pyarrow.parquet as pq
    from huggingface_hub.utils._runtime import is_xet_available

    assert not is_xet_available()  # so the real client takes the Hub's LFS path, not Xet
    _publish(demo_build, hub, "1.0.0")

    parquet = {str(p.relative_to(demo_build)) for p in demo_build.glob("*/*.parquet")}
    head = hub.hub.head(REPO)
    assert head.lfs == parquet  # every Parquet file went through LFS, the card as a regular file
    assert head.files["README.md"] == (demo_build / "README.md").read_bytes()
    puts = [path for method, path in hub.hub.requests if method == "PUT" and path.startswith("/lfs-storage/")]
    assert {p.rsplit("/", 1)[1] for p in puts} == {pq_sha(demo_build / p) for p in parquet} == set(hub.hub.lfs_objects)
    assert ("POST", f"/datasets/{REPO}.git/info/lfs/objects/batch") in hub.hub.requests
    assert ("POST", f"/datasets/{REPO}.git/info/lfs/objects/verify") in hub.hub.requests

    configs = ["rating_prediction", "user_attribute_prediction"]
    streamed = _stream_back(hub, tmp_path, configs, "v1.0.0")
    for config in configs:
        first = pq.read_table(sorted((demo_build / config).glob("train-*.parquet"))[0]).column("id")[0].as_py()
        assert streamed[config] == {**_expected_rows(demo_build, config), "first_train_id": first}
    assert any(path.endswith(".parquet") for path, _ in hub.hub.ranges)  # streaming read Parquet by byte ranges


def pq_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_commit_whose_reply_is_lost_is_reported_as_landed_and_a_rerun_only_tags(demo_build: Path, hub):
    hub.hub.lose_commit_reply = True
    with pytest.raises(PublishError) as info:
        _publish(demo_build, hub, "1.0.0")
    repo = hub.hub.repos[REPO]
    landed = repo.branches["main"]
    assert f"the commit did land: main is now {landed} and holds exactly this build" in str(info.value)
    assert repo.tags == {}

    hub.hub.lose_commit_reply = False
    commits = len(repo.commits)
    result = _publish(demo_build, hub, "1.0.0")
    assert len(repo.commits) == commits and repo.tags == {"v1.0.0": landed} and result.commit_oid == landed


def test_creating_an_existing_repo_answers_409_with_its_url_like_the_hub(hub):
    hub.hub.create(REPO)
    url = HfApi(endpoint=hub.url, token=TOKEN).create_repo(REPO, repo_type="dataset", exist_ok=True)
    assert url.repo_id == REPO and url.repo_type == "dataset"


def test_resolve_honours_range_requests(hub):
    import urllib.request

    hub.hub.new_commit(hub.hub.create(REPO), None, "data", {"blob.bin": bytes(range(100))})

    def get(range_header: str) -> tuple[int, bytes, str | None]:
        request = urllib.request.Request(f"{hub.url}/datasets/{REPO}/resolve/main/blob.bin", headers={"Range": range_header})
        with urllib.request.urlopen(request) as response:
            return response.status, response.read(), response.headers.get("Content-Range")

    assert get("bytes=10-19") == (206, bytes(range(10, 20)), "bytes 10-19/100")
    assert get("bytes=-4") == (206, bytes(range(96, 100)), "bytes 96-99/100")
    assert get("bytes=95-") == (206, bytes(range(95, 100)), "bytes 95-99/100")


def test_an_unrouted_request_with_a_body_keeps_the_connection_usable(hub):
    import http.client

    hub.hub.create(REPO)
    conn = http.client.HTTPConnection("127.0.0.1", int(hub.url.rsplit(":", 1)[1]), timeout=10)
    conn.request("POST", "/api/no/such/route", body=b"x" * 5000, headers={"Content-Type": "application/octet-stream"})
    first = conn.getresponse()
    assert first.status == 404 and b"no route" in first.read()
    conn.request("GET", f"/api/datasets/{REPO}")  # same keep-alive connection
    second = conn.getresponse()
    assert second.status == 200 and json.loads(second.read())["id"] == REPO
    conn.close()
