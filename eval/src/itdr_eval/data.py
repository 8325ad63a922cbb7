"""Loading ITDR splits: a Hub repo (``load_dataset(repo, config, revision=...)``) or a local folder.

A local folder is either a Hub-layout export (``README.md`` whose YAML has a ``configs:``
section; loaded with ``load_dataset(folder, config)``) or bare Parquet files laid out as
``<config>/<split>-*.parquet``.
"""

from __future__ import annotations

import glob
import os
from typing import Any


def looks_local(path: str) -> bool:
    """A path the user meant as a folder (not a Hub id ``org/name``)."""
    return path.startswith((".", "~")) or os.path.isabs(path) or path.count("/") >= 2 or (os.sep != "/" and os.sep in path)


def load_split(path: str, config: str, split: str, revision: str | None = None):
    """One split of one config as a ``datasets.Dataset``; a failure is one :class:`~itdr_eval.errors.EvalError` line."""
    from .errors import EvalError, first_line

    if not os.path.isdir(path) and looks_local(path):
        raise EvalError(f"--dataset {path}: no such folder; pass a local itdr-build output folder or a Hub "
                        f"repo id such as <org>/itdr")
    try:
        return _load_split(path, config, split, revision)
    except EvalError:
        raise
    except FileNotFoundError as exc:
        raise EvalError(f"--dataset {path}: no {config}/{split} data there ({first_line(exc)}); build it with "
                        f"itdr-build or check --tasks") from exc
    except Exception as exc:
        where = f"local folder {os.path.abspath(path)}" if os.path.isdir(path) else \
            f"the Hugging Face Hub (revision {revision or 'main'}) and its cache"
        raise EvalError(f"--dataset {path}: cannot load config {config!r} split {split!r} from {where} "
                        f"({first_line(exc)}); check the id/revision, the network (or HF_HUB_OFFLINE) or pass a "
                        f"local build folder") from exc


def config_names(path: str, revision: str | None = None) -> list[str] | None:
    """The configs a dataset has, so that ``--tasks all`` scores what a build holds (a MovieLens-only
    build has no cross-domain cells). ``None`` when they cannot be listed; loading then reports why."""
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "README.md")):
            return sorted(d for d in os.listdir(path) if glob.glob(os.path.join(path, d, "*.parquet")))
    elif looks_local(path):
        return None
    try:
        from datasets import get_dataset_config_names

        return list(get_dataset_config_names(path, revision=revision) if not os.path.isdir(path)
                    else get_dataset_config_names(path))
    except Exception:  # noqa: BLE001 - unreachable or unknown: load_split gives the one-line error
        return None


def _load_split(path: str, config: str, split: str, revision: str | None = None):
    from datasets import load_dataset

    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "README.md")):
            return load_dataset(path, config, split=split)
        files = sorted(glob.glob(os.path.join(path, config, f"{split}-*.parquet")))
        if not files:
            raise FileNotFoundError(f"no {config}/{split}-*.parquet under {path}")
        return load_dataset("parquet", data_files={split: files}, split=split)
    return load_dataset(path, config, split=split, revision=revision)


def select_rows(ds, subset: str, limit: int | None) -> list[dict[str, Any]]:
    """Rows to score: ``eval`` keeps ``eval_subset`` rows; ``limit`` caps each source cell (in order)."""
    if subset == "eval" and "eval_subset" not in ds.column_names:
        raise ValueError("the dataset has no eval_subset column: use --subset test")
    rows = ds.to_list()
    if subset == "eval":
        rows = [r for r in rows if r.get("eval_subset")]
    if limit is not None:
        kept: list[dict[str, Any]] = []
        per_source: dict[str, int] = {}
        for r in rows:
            c = per_source.get(r["source"], 0)
            if c < limit:
                kept.append(r)
                per_source[r["source"]] = c + 1
        rows = kept
    return rows


def sample_train(ds, fraction: float, max_rows: int | None, seed: int):
    """A seeded random ``fraction`` of a train split, optionally capped at ``max_rows``."""
    n = len(ds)
    k = n if fraction >= 1.0 else max(1, round(n * fraction))
    if max_rows is not None:
        k = min(k, max_rows)
    if k == n:
        return ds
    return ds.shuffle(seed=seed).select(range(k))
