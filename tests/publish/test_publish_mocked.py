"""Layer 2: ``publish`` against a patched ``HfApi``: one commit, pinned parent, the tag, and every refusal."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, DatasetCard
from huggingface_hub.errors import RepositoryNotFoundError

from itdr_hf import publish_cli
from itdr_hf.card import InvalidBuild
from itdr_hf.publish import PublishError, PublishOptions, TagFailed, publish

from .conftest import TOKEN

HEAD = "a" * 40
NEW = "b" * 40


def _api(*, exists: bool = True, tags: tuple[str, ...] = (), remote: tuple[str, ...] = (".gitattributes",)) -> mock.MagicMock:
    api = mock.MagicMock(name="HfApi")
    info = SimpleNamespace(sha=HEAD, siblings=[SimpleNamespace(rfilename=p) for p in remote])
    if exists:
        api.dataset_info.return_value = info
    else:
        api.dataset_info.side_effect = [RepositoryNotFoundError("404 not found", response=mock.MagicMock()), info, info]
    api.list_repo_refs.return_value = SimpleNamespace(tags=[SimpleNamespace(name=t) for t in tags])
    api.create_commit.return_value = SimpleNamespace(oid=NEW)
    return api


def _options(**kwargs) -> PublishOptions:
    return PublishOptions(repo_id="org/itdr", version="1.0.0", **{"private": False, "allow_demo": True, **kwargs})


def _no_validation(folder: Path) -> None:
    return None


def test_one_commit_with_every_file_pinned_to_the_head_then_the_tag(demo_build: Path):
    api = _api(remote=(".gitattributes", "README.md", "gone/train-00000-of-00001.parquet"))
    result = publish(demo_build, _options(), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)

    api.create_commit.assert_called_once()
    args, kwargs = api.create_commit.call_args
    assert args[0] == "org/itdr"
    assert kwargs["parent_commit"] == HEAD
    assert kwargs["repo_type"] == "dataset" and kwargs["revision"] == "main"
    assert kwargs["commit_message"] == result.plan.commit_message
    ops = args[1]
    added = {o.path_in_repo for o in ops if isinstance(o, CommitOperationAdd)}
    assert added == {f.path_in_repo for f in result.plan.additions}
    assert [o.path_in_repo for o in ops if isinstance(o, CommitOperationDelete)] == ["gone/train-00000-of-00001.parquet"]
    api.create_tag.assert_called_once_with(
        "org/itdr", tag="v1.0.0", revision=NEW, tag_message=result.plan.commit_message, repo_type="dataset"
    )
    api.create_repo.assert_not_called()
    assert (result.commit_oid, result.tag) == (NEW, "v1.0.0")


def test_missing_repo_is_created_before_the_commit(demo_build: Path):
    api = _api(exists=False)
    result = publish(demo_build, _options(), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)
    api.create_repo.assert_called_once_with("org/itdr", repo_type="dataset", exist_ok=False, private=False)
    assert api.create_commit.call_args.kwargs["parent_commit"] == HEAD
    assert result.created_repo


def test_existing_tag_is_refused_before_any_write(demo_build: Path):
    api = _api(tags=("v1.0.0",))
    with pytest.raises(PublishError, match="tag v1.0.0 already exists.*--force-tag"):
        publish(demo_build, _options(), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)
    api.create_repo.assert_not_called()
    api.create_commit.assert_not_called()
    api.create_tag.assert_not_called()


def test_force_tag_moves_the_tag_after_the_commit(demo_build: Path):
    api = _api(tags=("v1.0.0",))
    publish(demo_build, _options(force_tag=True), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)
    calls = [c[0] for c in api.method_calls if c[0] in ("create_commit", "delete_tag", "create_tag")]
    assert calls == ["create_commit", "delete_tag", "create_tag"]


def test_dry_run_prints_the_plan_and_writes_nothing(demo_build: Path):
    api = _api(exists=False)
    out: list[str] = []
    result = publish(demo_build, _options(dry_run=True), api=api, token=TOKEN, echo=out.append, validate=_no_validation)
    text = "\n".join(out)
    for write in ("create_repo", "create_commit", "create_tag", "delete_tag", "delete_repo"):
        getattr(api, write).assert_not_called()
    assert "would create dataset repository org/itdr" in text
    assert "+ README.md" in text and "+ all/test-00000-of-00001.parquet" in text
    assert "tag: v1.0.0" in text and result.commit_oid is None
    assert TOKEN not in text


def test_failed_commit_never_deletes_the_repo_it_created_and_says_how_to_remove_it(demo_build: Path):
    api = _api(exists=False)
    api.create_commit.side_effect = RuntimeError(f"500 Server Error for url with token {TOKEN}")
    with pytest.raises(PublishError) as info:
        publish(demo_build, _options(), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)
    message = str(info.value)
    assert f"nothing was released: main is still at {HEAD}" in message
    assert "empty repository org/itdr created by this run was left in place" in message
    assert "hf repos delete org/itdr --repo-type dataset" in message
    assert TOKEN not in message
    api.create_tag.assert_not_called()
    api.delete_repo.assert_not_called()


def test_a_repo_created_by_someone_else_meanwhile_stops_the_run_without_writing(demo_build: Path):
    from huggingface_hub.errors import HfHubHTTPError

    api = _api(exists=False)
    api.create_repo.side_effect = HfHubHTTPError("409 Conflict", response=SimpleNamespace(status_code=409, headers={}, request=None))
    with pytest.raises(PublishError, match="created by someone else.*Nothing was written"):
        publish(demo_build, _options(), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)
    api.create_commit.assert_not_called()
    api.delete_repo.assert_not_called()
    api.create_tag.assert_not_called()


def test_private_visibility_is_sent_when_chosen(demo_build: Path):
    api = _api(exists=False)
    out: list[str] = []
    publish(demo_build, _options(private=True), api=api, token=TOKEN, echo=out.append, validate=_no_validation)
    api.create_repo.assert_called_once_with("org/itdr", repo_type="dataset", exist_ok=False, private=True)
    assert "created dataset repository org/itdr (private)" in out


def test_visibility_has_no_default():
    with pytest.raises(TypeError):
        PublishOptions(repo_id="org/itdr", version="1.0.0")  # private is a required keyword
    with pytest.raises(PublishError, match="--private or --public"):
        PublishOptions(repo_id="org/itdr", version="1.0.0", private=None)


def test_cli_requires_private_or_public(demo_build: Path, capsys):
    with pytest.raises(SystemExit) as info:
        publish_cli.main([str(demo_build), "--repo", "org/itdr", "--version", "1.0.0", "--dry-run"])
    assert info.value.code == 2
    assert "one of the arguments --private --public is required" in capsys.readouterr().err


def test_a_demo_build_is_refused_unless_allowed(demo_build: Path):
    api = _api()
    with pytest.raises(PublishError, match="is a demo build .*--allow-demo"):
        publish(demo_build, _options(allow_demo=False), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)
    for write in ("create_repo", "create_commit", "create_tag"):
        getattr(api, write).assert_not_called()
    out: list[str] = []
    publish(demo_build, _options(), api=api, token=TOKEN, echo=out.append, validate=_no_validation)
    assert any("publishing a DEMO build" in line for line in out)


def test_missing_paper_cells_are_a_loud_warning(demo_build: Path):
    out: list[str] = []
    publish(demo_build, _options(), api=_api(), token=TOKEN, echo=out.append, validate=_no_validation)
    warning = next(line for line in out if "CELL(S) OF THE PAPER" in line)
    # the shared demo build holds only the MovieLens cells: Amazon's are named
    assert warning.startswith("WARNING: THIS BUILD LACKS") and "top_k_recommendation/amazon_2023" in warning
    assert "rating_prediction/movielens_32m" not in warning


def test_a_commit_whose_reply_is_lost_reports_that_it_landed(demo_build: Path):
    from itdr_hf.publish import _digest

    landed = [
        SimpleNamespace(rfilename=f.relative_to(demo_build).as_posix(), lfs=None, blob_id=_digest(f, "git"))
        for f in [demo_build / "README.md", *demo_build.glob("*/*.parquet")]
    ]
    api = _api()
    api.dataset_info.side_effect = [
        SimpleNamespace(sha=HEAD, siblings=[SimpleNamespace(rfilename=".gitattributes")]),
        SimpleNamespace(sha=NEW, siblings=landed),
    ]
    api.create_commit.side_effect = ConnectionError("Connection reset by peer")
    with pytest.raises(PublishError) as info:
        publish(demo_build, _options(), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)
    message = str(info.value)
    assert f"the commit did land: main is now {NEW} and holds exactly this build" in message
    assert "only tags" in message and "main is still at" not in message
    api.create_tag.assert_not_called()


def test_a_failed_commit_after_someone_else_pushed_says_main_moved(demo_build: Path):
    api = _api()
    api.dataset_info.side_effect = [
        SimpleNamespace(sha=HEAD, siblings=[SimpleNamespace(rfilename=".gitattributes")]),
        SimpleNamespace(sha="c" * 40, siblings=[SimpleNamespace(rfilename="NOTES.md", lfs=None, blob_id="0" * 40)]),
    ]
    api.create_commit.side_effect = RuntimeError("412 Precondition Failed")
    with pytest.raises(PublishError, match=f"main moved from {HEAD} to {'c' * 40}, a commit that is not this build"):
        publish(demo_build, _options(), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)


def test_failed_tag_says_the_commit_landed_and_how_to_retry(demo_build: Path):
    api = _api()
    api.create_tag.side_effect = RuntimeError("503 Service Unavailable")
    with pytest.raises(TagFailed) as info:
        publish(demo_build, _options(), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)
    message = str(info.value)
    assert info.value.commit_oid == NEW
    assert f"commit {NEW} is on main" in message
    assert f"create_tag('org/itdr', tag='v1.0.0', revision='{NEW}', repo_type='dataset')" in message


def test_invalid_folder_is_refused_before_the_hub_is_asked(release_folder: Path):
    (release_folder / "rating_prediction" / "test-00000-of-00001.parquet").unlink()
    api = _api()
    with pytest.raises(InvalidBuild, match="no test Parquet file"):
        publish(release_folder, _options(), api=api, token=TOKEN, echo=lambda s: None)
    assert api.method_calls == []


def test_no_token_is_a_clear_error(demo_build: Path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    with mock.patch("huggingface_hub.get_token", return_value=None):
        with pytest.raises(PublishError, match="no Hub token: set HF_TOKEN"):
            publish(demo_build, _options(), api=_api(), echo=lambda s: None, validate=_no_validation)


def test_dry_run_needs_no_token(demo_build: Path):
    api = _api()
    with mock.patch("huggingface_hub.get_token", return_value=None):
        result = publish(demo_build, _options(dry_run=True), api=api, echo=lambda s: None, validate=_no_validation)
    assert result.commit_oid is None and api.create_commit.call_count == 0


def test_cli_dry_run_uses_the_token_from_the_environment_and_never_prints_it(demo_build: Path, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    api = _api()
    with mock.patch("huggingface_hub.HfApi", return_value=api) as cls:
        code = publish_cli.main([str(demo_build), "--repo", "org/itdr", "--version", "v2.0.0", "--dry-run", "--public", "--allow-demo"])
    captured = capsys.readouterr()
    assert code == 0
    assert cls.call_args.kwargs["token"] == TOKEN
    assert "tag: v2.0.0" in captured.out
    assert TOKEN not in captured.out + captured.err
    api.create_commit.assert_not_called()


def test_cli_reports_errors_without_a_traceback_or_the_token(demo_build: Path, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    api = _api()
    api.create_commit.side_effect = RuntimeError(f"401 Unauthorized: Bearer {TOKEN}")
    with mock.patch("huggingface_hub.HfApi", return_value=api):
        code = publish_cli.main([str(demo_build), "--repo", "org/itdr", "--version", "1.0.0", "--public", "--allow-demo"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("itdr-publish: error: the commit to org/itdr failed")
    assert TOKEN not in err and "***" in err


def test_trusted_publishing_failure_is_a_clear_error(demo_build: Path, monkeypatch):
    from huggingface_hub.errors import OIDCError

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_OIDC_RESOURCE", "datasets/org/itdr")
    with mock.patch("huggingface_hub.get_token", side_effect=OIDCError("Cannot request an OIDC id token")):
        with pytest.raises(PublishError, match="trusted publishing: OIDCError: Cannot request an OIDC id token"):
            publish(demo_build, _options(), api=_api(), echo=lambda s: None, validate=_no_validation)


def test_dry_run_offline_still_shows_the_uploads(demo_build: Path):
    api = _api()
    api.dataset_info.side_effect = ConnectionError("Name or service not known")
    out: list[str] = []
    result = publish(demo_build, _options(dry_run=True), api=api, token=TOKEN, echo=out.append, validate=_no_validation)
    assert result.commit_oid is None
    assert "the Hub could not be read (ConnectionError)" in out[0]
    assert any("+ README.md" in line for line in "\n".join(out).splitlines())
    api.create_commit.assert_not_called()
    api.create_tag.assert_not_called()


def test_a_real_publish_offline_fails_cleanly(demo_build: Path):
    api = _api()
    api.dataset_info.side_effect = ConnectionError("Name or service not known")
    with pytest.raises(PublishError, match="nothing was released"):
        publish(demo_build, _options(), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)
    api.create_commit.assert_not_called()


def test_a_card_built_from_real_sources_is_not_taken_for_a_demo(release_folder: Path):
    from itdr_hf.builder import CITATION
    from itdr_hf.card import CardOptions, write_card
    from itdr_hf.publish import plan_release

    data = DatasetCard.load(release_folder / "README.md").data
    configs = [c["config_name"] for c in data.to_dict()["configs"]]
    write_card(
        release_folder, data, configs=configs, options=CardOptions(), version="1.0.0", repo_id="org/itdr", skipped=[],
        demo=False, parameters=[], task_descriptions=True, sources=[], citation=CITATION,
    )
    assert plan_release(release_folder, [], "1.0.0", repo_id="org/itdr").demo is False
    api = _api()
    publish(release_folder, _options(allow_demo=False), api=api, token=TOKEN, echo=lambda s: None, validate=_no_validation)
    api.create_commit.assert_called_once()
