"""Publish a build folder to the Hugging Face Hub as one commit plus a release tag.

Ordering, and why no partial release is ever visible:

1. Everything that can refuse runs before the first write: the folder is validated
   (:func:`itdr_hf.card.validate_build`: the card parses and every config loads back), the token
   is resolved, and an existing tag ``v<version>`` stops the run unless ``force_tag``.
2. The repo is created if it does not exist, with the visibility the caller chose explicitly
   (``--private``/``--public``: there is no default, so an organisation's private default is never
   overridden by accident). A repo is **never deleted**: if the commit then fails, the empty repo
   this run created stays (it shows no release) and the error says how to remove it. If someone
   else created the repo between the read and the create (a 409), the run stops without writing.
3. Every Parquet file and the card go up in **one** ``create_commit``, with ``parent_commit``
   pinned to the head read in step 1. The Hub applies a commit atomically, and refuses it when
   the branch moved meanwhile, so a reader of ``main`` sees the old release or the new one, never
   a mix, and a concurrent push makes this run fail instead of merging into it.
4. Only then is the tag created on the new commit's oid. A user pinning ``revision="v1.0.0"``
   therefore sees nothing until the complete release exists. If tagging fails, ``main`` already
   holds the complete new release but the tag is missing: :class:`TagFailed` says so and gives
   the exact command to create the tag (re-running ``itdr-publish`` also works: it sees that
   ``main`` already holds exactly this build, makes no commit and only tags that commit).
   If the commit request fails, ``main`` is read again to say what actually happened: unchanged
   (nothing released), moved to a commit holding exactly this build (the commit landed, its reply
   was lost: a re-run only tags it), or moved by someone else.

A demo build (synthetic data) is refused unless ``allow_demo``; a build lacking cells of the
paper is published with a loud warning listing them.

The token comes from ``HF_TOKEN`` or, in GitHub Actions, the Hub's trusted publishing
(``HF_OIDC_RESOURCE=datasets/<org>/<name>`` with ``permissions: id-token: write``); it is
never printed, and it is scrubbed from every error message this module raises.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ItdrError

REPO_TYPE = "dataset"
_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[-+.][0-9A-Za-z.+-]+)?$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_TOKEN_LIKE = re.compile(r"hf_[A-Za-z0-9_]{8,}")


class PublishError(ItdrError):
    """The release was refused or failed; the message says what is on the Hub now and what to do."""


class TagFailed(PublishError):
    """The commit landed on ``main`` but the tag could not be created."""

    def __init__(self, message: str, *, commit_oid: str) -> None:
        self.commit_oid = commit_oid
        super().__init__(message)


@dataclass(frozen=True, kw_only=True)
class PublishOptions:
    """What to publish where. ``version`` is the release number without the leading ``v``."""

    repo_id: str = field(metadata={"help": "Dataset repository on the Hub, <org>/<name>."})
    version: str = field(metadata={"help": "Release version, e.g. 1.0.0; the tag is v<version>."})
    force_tag: bool = field(default=False, metadata={"help": "Move the tag v<version> if it already exists."})
    dry_run: bool = field(default=False, metadata={"help": "Print the plan and touch nothing on the Hub."})
    private: bool | None = field(
        metadata={
            "help": "Visibility of the repository if this run has to create it: --private or --public, no "
            "default (an existing repository keeps its visibility)."
        }
    )
    allow_demo: bool = field(
        default=False, metadata={"help": "Publish a demo build (synthetic sample data), which is refused otherwise."}
    )
    endpoint: str | None = field(default=None, metadata={"help": "Hub endpoint (default: HF_ENDPOINT or huggingface.co)."})

    def __post_init__(self) -> None:
        if not _REPO_ID.match(self.repo_id):
            raise PublishError(f"--repo must look like <org>/<name>, got {self.repo_id!r}")
        check_version(self.version)
        if self.private is None:
            raise PublishError("choose the visibility of a repository this run may create: --private or --public")


@dataclass(frozen=True)
class PlannedFile:
    path_in_repo: str
    local_path: Path
    size: int


@dataclass(frozen=True)
class ReleasePlan:
    """Everything one release does, computed without touching the network."""

    repo_id: str
    version: str
    tag: str
    commit_message: str
    additions: tuple[PlannedFile, ...]
    deletions: tuple[str, ...]
    configs: tuple[str, ...]
    card: object  # huggingface_hub.DatasetCard
    warnings: tuple[str, ...] = ()
    demo: bool = False

    def operations(self) -> list:
        """Fresh commit operations (huggingface_hub refuses to reuse a committed ``CommitOperationAdd``)."""
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        return [CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=str(f.local_path)) for f in self.additions] + [
            CommitOperationDelete(path_in_repo=p) for p in self.deletions
        ]

    def describe(self) -> str:
        total = sum(f.size for f in self.additions)
        lines = [
            f"repository: {self.repo_id} (dataset)",
            f"commit message: {self.commit_message}",
            f"tag: {self.tag}",
            f"configs: {', '.join(self.configs)}",
            f"upload {len(self.additions)} files, {total:,} bytes:",
            *(f"  + {f.path_in_repo} ({f.size:,} bytes)" for f in self.additions),
        ]
        if self.deletions:
            lines.append(f"delete {len(self.deletions)} remote files no longer in the build:")
            lines += [f"  - {p}" for p in self.deletions]
        if self.demo:
            lines.append("warning: THIS IS A DEMO BUILD (synthetic sample data, not ITDR)")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class PublishResult:
    plan: ReleasePlan
    commit_oid: str | None
    tag: str | None
    created_repo: bool = False


def check_version(version: str) -> str:
    if not _VERSION.match(version):
        raise PublishError(f"version must look like 1.0.0 (no leading 'v'), got {version!r}")
    return version


def plan_release(folder: str | Path, remote_files: Sequence[str], version: str, *, repo_id: str = "itdr") -> ReleasePlan:
    """Turn a build folder into the commit that releases it: a pure function of the folder.

    Uploads the card and every config's Parquet shards. Deletes remote files the new build no
    longer has: every ``*.parquet`` below a folder (configs that vanished, shards a config no
    longer has, which a ``<split>-*`` glob would otherwise still pick up) and anything else under
    a config folder of the new build. Top-level files other than the card (``.gitattributes``, a
    LICENSE added on the Hub) are left alone. Raises :class:`~itdr_hf.card.InvalidBuild` when the
    card does not parse or does not match the folder.
    """
    from .card import InvalidBuild, check_card, data_files

    folder = Path(folder).absolute()
    check_version(version)
    card, problems = check_card(folder)
    if problems:
        raise InvalidBuild(folder, problems)
    configs = tuple(c["config_name"] for c in card.data.to_dict()["configs"])
    additions = [PlannedFile("README.md", folder / "README.md", (folder / "README.md").stat().st_size)]
    for config in configs:
        for paths in data_files(folder, config).values():
            additions += [PlannedFile(f"{config}/{p.name}", p, p.stat().st_size) for p in paths]
    uploading = {f.path_in_repo for f in additions}
    deletions = tuple(
        sorted(
            p for p in remote_files
            if p not in uploading and "/" in p and (p.endswith(".parquet") or p.split("/", 1)[0] in configs)
        )
    )
    warnings = []
    if f'load_dataset("{repo_id}"' not in card.text:
        warnings.append(f"the card's usage example does not name {repo_id}; rebuild with itdr-build --repo-id {repo_id}")
    missing = missing_paper_cells(folder, configs)
    if missing:
        warnings.append(
            f"THIS BUILD LACKS {len(missing)} CELL(S) OF THE PAPER: {', '.join(f'{t}/{s}' for t, s in missing)}; "
            "rebuild with their raw data under --data-dir unless a partial release is intended"
        )
    return ReleasePlan(
        repo_id=repo_id,
        version=version,
        tag=f"v{version}",
        commit_message=f"Release v{version}: {len(configs)} configs, {len(additions) - 1} Parquet files",
        additions=tuple(additions),
        deletions=deletions,
        configs=configs,
        card=card,
        warnings=tuple(warnings),
        demo=is_demo_card(card.text),
    )


def is_demo_card(text: str) -> bool:
    """Whether the card says the build came from the bundled synthetic sample (``itdr-build --demo``)."""
    from .card import DEMO_NOTICE

    return DEMO_NOTICE in text


def missing_paper_cells(folder: Path, configs: Sequence[str]) -> list[tuple[str, str]]:
    """The paper's (subtask, source) cells with no row in the folder, read from the Parquet files themselves."""
    import pyarrow.parquet as pq

    from .card import data_files
    from .matrix import PAPER_CELLS

    present: set[tuple[str, str]] = set()
    for config in configs:
        if config == "all":
            continue
        for paths in data_files(folder, config).values():
            for path in paths:
                table = pq.read_table(path, columns=["task", "source"])
                present |= set(zip(table.column("task").to_pylist(), table.column("source").to_pylist(), strict=True))
    return [(t, s) for t, cells in PAPER_CELLS.items() for s in cells if (t, s) not in present]


def resolve_token() -> str:
    """``HF_TOKEN``, or a trusted-publishing token (``HF_OIDC_RESOURCE`` in GitHub Actions), via huggingface_hub."""
    from huggingface_hub import get_token

    try:
        token = get_token()
    except Exception as exc:  # noqa: BLE001 - an OIDC exchange failure
        raise PublishError(f"could not get a Hub token by trusted publishing: {type(exc).__name__}: {exc}") from None
    if not token:
        raise PublishError(
            "no Hub token: set HF_TOKEN (a write token), or in GitHub Actions use trusted publishing "
            "(permissions: id-token: write, and HF_OIDC_RESOURCE=datasets/<org>/<name>)"
        )
    return token


def _anonymous_ok() -> bool:
    """A dry run only reads: without any token it may still list a public repo."""
    from huggingface_hub import get_token

    try:
        return get_token() is None
    except Exception:  # noqa: BLE001 - a broken OIDC setup: let resolve_token report it
        return False


def scrub(text: str, token: str | None) -> str:
    """Remove the token (and anything shaped like a Hub token) from a message."""
    if token:
        text = text.replace(token, "***")
    return _TOKEN_LIKE.sub("hf_***", text)


def publish(
    folder: str | Path,
    options: PublishOptions,
    *,
    api=None,
    token: str | None = None,
    echo: Callable[[str], None] = print,
    validate: Callable[[Path], object] | None = None,
) -> PublishResult:
    """Validate ``folder``, then release it as ``options.version``; see the module docstring for the ordering.

    ``api`` defaults to an ``HfApi`` on ``options.endpoint``; ``token`` to :func:`resolve_token`;
    ``validate`` to :func:`itdr_hf.card.validate_build` (it raises on an unpublishable folder).
    """
    from .card import validate_build

    folder = Path(folder).absolute()
    (validate or validate_build)(folder)
    if token is None and not (options.dry_run and _anonymous_ok()):
        token = resolve_token()
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=options.endpoint, token=token)
    try:
        return _publish(folder, options, api, token, echo)
    except PublishError as exc:
        raise type(exc)(scrub(str(exc), token), **_extra(exc)) from None
    except ItdrError:
        raise
    except Exception as exc:  # noqa: BLE001 - Hub and network errors, rewritten without the token
        raise PublishError(
            f"publishing {options.repo_id} failed: {type(exc).__name__}: {scrub(str(exc), token)}\n"
            + _auth_hint(exc, options.repo_id)
            + "  nothing was released (no commit or tag was made by this run)"
        ) from None


def _auth_hint(exc: Exception, repo_id: str) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403):
        return (
            f"  the Hub refused the token ({status}): use a write token of an account that may push to "
            f"{repo_id.split('/')[0]} (HF_TOKEN), or check the repo's trusted-publishing settings\n"
        )
    return ""


def _extra(exc: PublishError) -> dict:
    return {"commit_oid": exc.commit_oid} if isinstance(exc, TagFailed) else {}


def _remote_state(api, repo_id: str) -> tuple[bool, str | None, dict, set[str]]:
    """(repo exists, head commit of main, files on main by path with their blob ids, tag names)."""
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        info = api.dataset_info(repo_id, revision="main", files_metadata=True)
    except RepositoryNotFoundError:
        return False, None, {}, set()
    files = {s.rfilename: s for s in (info.siblings or [])}
    refs = api.list_repo_refs(repo_id, repo_type=REPO_TYPE)
    return True, info.sha, files, {t.name for t in refs.tags}


def _already_on_head(plan: ReleasePlan, remote: dict) -> bool:
    """Whether ``head`` already holds exactly this build (a re-run after a failed tag).

    Decided here rather than left to huggingface_hub, which skips an all-unchanged commit and
    returns the *current* head of main: after a concurrent push that would tag someone else's commit.
    """
    if plan.deletions:
        return False
    for planned in plan.additions:
        sibling = remote.get(planned.path_in_repo)
        lfs = getattr(sibling, "lfs", None)
        if sibling is None:
            return False
        if lfs:
            if lfs["sha256"] != _digest(planned.local_path, "sha256"):
                return False
        elif getattr(sibling, "blob_id", None) != _digest(planned.local_path, "git"):
            return False
    return True


def _digest(path: Path, kind: str) -> str:
    data = path.read_bytes()
    if kind == "git":
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return hashlib.sha256(data).hexdigest()


def _publish(folder: Path, options: PublishOptions, api, token: str, echo: Callable[[str], None]) -> PublishResult:
    try:
        exists, head, remote, tags = _remote_state(api, options.repo_id)
    except Exception as exc:  # a dry run offline still shows what would be uploaded; a real run re-raises
        if not options.dry_run:
            raise
        echo(f"dry run: the Hub could not be read ({type(exc).__name__}); the plan below assumes an empty "
             "repository, so deletions of files that vanished from the build and an existing tag are not shown")
        exists, head, remote, tags = False, None, {}, set()
    plan = plan_release(folder, list(remote), options.version, repo_id=options.repo_id)
    tag_exists = plan.tag in tags
    if tag_exists and not options.force_tag:
        raise PublishError(
            f"tag {plan.tag} already exists on {options.repo_id}: a release is never moved silently. "
            "Publish a new version, or pass --force-tag to move the tag to this build."
        )
    if plan.demo and not options.allow_demo:
        raise PublishError(
            f"{folder} is a demo build (synthetic sample data bundled with itdr-hf, not ITDR): refused. Build from "
            "the raw sources (itdr-build --data-dir ...), or pass --allow-demo to publish it anyway (e.g. to a test repo)."
        )
    if options.dry_run:
        echo("dry run: nothing will be changed on the Hub")
        if not exists:
            echo(f"would create dataset repository {options.repo_id} ({_visibility(options)})")
        echo(plan.describe())
        echo(f"would {'move' if tag_exists else 'create'} tag {plan.tag} on the new commit (parent {head or 'none'})")
        return PublishResult(plan, None, None)
    if plan.demo:
        echo(f"WARNING: publishing a DEMO build (synthetic data) to {options.repo_id}, as --allow-demo asked")
    for warning in plan.warnings:
        echo(f"WARNING: {warning}")
    if exists and head and _already_on_head(plan, remote):
        echo(f"main ({head}) already holds exactly this build: no commit, only the tag")
        _tag(api, options, plan, head, tag_exists, token)
        echo(f"tagged {plan.tag} -> {head}")
        return PublishResult(plan, head, plan.tag)
    created = False
    if not exists:
        _create_repo(api, options)
        created = True
        echo(f"created dataset repository {options.repo_id} ({_visibility(options)})")
        head = api.dataset_info(options.repo_id, revision="main").sha
    try:
        commit = api.create_commit(
            options.repo_id,
            plan.operations(),
            commit_message=plan.commit_message,
            repo_type=REPO_TYPE,
            revision="main",
            parent_commit=head,
        )
    except Exception as exc:  # noqa: BLE001 - whatever failed, main is read again to say what happened
        raise PublishError(
            f"the commit to {options.repo_id} failed: {type(exc).__name__}: {scrub(str(exc), token)}\n"
            + _auth_hint(exc, options.repo_id)
            + _after_failed_commit(api, options, plan, head, created)
        ) from None
    echo(f"committed {len(plan.additions)} files, {len(plan.deletions)} deletions: {commit.oid}")
    _tag(api, options, plan, commit.oid, tag_exists, token)
    echo(f"tagged {plan.tag} -> {commit.oid}")
    return PublishResult(plan, commit.oid, plan.tag, created)


def _visibility(options: PublishOptions) -> str:
    return "private" if options.private else "public"


def _create_repo(api, options: PublishOptions) -> None:
    """Create the repo with the chosen visibility; a 409 (someone created it since it was read) stops the run.

    ``exist_ok=False`` on purpose: with ``exist_ok=True`` huggingface_hub swallows the 409, and this
    run could not tell a repo it created from one another party created (and may have tagged) meanwhile.
    """
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api.create_repo(options.repo_id, repo_type=REPO_TYPE, exist_ok=False, private=options.private)
    except HfHubHTTPError as exc:
        if getattr(exc.response, "status_code", None) != 409:
            raise
        raise PublishError(
            f"{options.repo_id} did not exist when this run read the Hub, but was created by someone else "
            "before this run could create it (409). Nothing was written: look at the repository, then re-run."
        ) from None


def _after_failed_commit(api, options: PublishOptions, plan: ReleasePlan, head: str | None, created: bool) -> str:
    """Read ``main`` again and say what the failed commit request actually left on the Hub.

    A commit whose reply was lost may well have landed: then ``main`` holds exactly this build, and a
    re-run only tags it (:func:`_already_on_head`).
    """
    repo = options.repo_id
    left = (
        f"\n  the empty repository {repo} created by this run was left in place (it shows no release; it is never "
        f"deleted automatically). Re-run to publish into it, or remove it: hf repos delete {repo} --repo-type dataset"
        if created else ""
    )
    try:
        info = api.dataset_info(repo, revision="main", files_metadata=True)
        now = info.sha
        remote = {s.rfilename: s for s in (info.siblings or [])}
    except Exception as exc:  # noqa: BLE001 - the commit error matters more; say the state is unknown
        return (
            f"  main could not be read again ({type(exc).__name__}): the commit may or may not have landed. "
            f"Look at the history of {repo} before re-running (a re-run tags main if it already holds this build); "
            f"no tag was made{left}"
        )
    if now == head:
        return f"  nothing was released: main is still at {head or 'its initial state'} and no tag was made{left}"
    if _already_on_head(plan, remote):
        return (
            f"  but the commit did land: main is now {now} and holds exactly this build (the reply was lost). "
            f"No tag was made: re-run the same itdr-publish command, which makes no new commit and only tags {now}"
        )
    return (
        f"  nothing of this run was released: main moved from {head} to {now}, a commit that is not this build "
        "(someone else pushed). No tag was made: look at the repository, then re-run"
    )


def _tag(api, options: PublishOptions, plan: ReleasePlan, oid: str, tag_exists: bool, token: str) -> None:
    try:
        if tag_exists:
            api.delete_tag(options.repo_id, tag=plan.tag, repo_type=REPO_TYPE)
        api.create_tag(
            options.repo_id, tag=plan.tag, revision=oid, tag_message=plan.commit_message, repo_type=REPO_TYPE
        )
    except Exception as exc:  # noqa: BLE001
        retry = (
            f"python -c \"from huggingface_hub import HfApi; HfApi().create_tag('{options.repo_id}', "
            f"tag='{plan.tag}', revision='{oid}', repo_type='dataset')\""
        )
        raise TagFailed(
            f"commit {oid} is on main of {options.repo_id} (the complete new release), but creating tag "
            f"{plan.tag} failed: {type(exc).__name__}: {scrub(str(exc), token)}\n"
            + (f"  the old tag {plan.tag} may have been deleted already.\n" if tag_exists else "")
            + f"  retry the tag alone with HF_TOKEN set:\n    {retry}",
            commit_oid=oid,
        ) from None
