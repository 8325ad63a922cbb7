"""Bootstrap uncertainty (issue 12): 95% intervals and standard errors per cell and per summary
score, and a paired bootstrap for comparing two runs on the same rows.

About 250 rows per cell gives roughly +-6 points at 50% accuracy, so a difference between two
models means little without an interval. Rows of a cell are resampled with replacement
(``resamples`` times, seeded per cell so adding a cell does not move another's interval) and the
cell's metric is recomputed exactly as ``scoring.aggregate_cell`` computes it (RMSE from resampled
errors, corpus BLEU from resampled statistics). The interval is the percentile interval
[2.5%, 97.5%]; the standard error is the standard deviation of the resampled metric. pUII/pUIU
resample every cell independently (stratified by cell) and recompute the summary.

The paired bootstrap resamples the ids both runs scored with the *same* indices, so the
difference's interval reflects the models' disagreement, not the rows' difficulty; the two-sided
p-value is ``min(1, 2 * min(P(d <= 0), P(d >= 0)))`` over the resampled differences.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from . import metrics as M
from .scoring import CELL_METRICS, aggregate_cell, summary_metrics
from .tasks import Task


def _rng(seed: int, key: str):
    import numpy as np

    return np.random.default_rng([seed, zlib.crc32(key.encode())])


# The built-in metrics that are plain means of a per-example score; a metric registered beyond them
# (scoring.register_metric) sends the cell through the generic path, which handles any metric.
_MEANS = {"ranking": ["ndcg@10", "hit@1", "p@5"], "choice": ["hit@1"]}


def _fast_arrays(task: Task, records: Sequence[Mapping[str, Any]]):
    """Per-example arrays from which the cell's metrics are means (or RMSE); ``None`` = use the generic path."""
    import numpy as np

    scores = [r["scores"] for r in records]
    if task.answer == "rating":
        return {"rmse": np.array([s["abs_error"] ** 2 for s in scores], dtype=float)}, (scores[0]["scale_range"] if scores else math.nan)
    if task.answer in _MEANS and [m.name for m in CELL_METRICS[task.answer]] == summary_metrics(task.answer) == _MEANS[task.answer]:
        return {k: np.array([s[k] for s in scores], dtype=float) for k in _MEANS[task.answer]}, None
    return None, None


def resampled_metrics(task: Task, records: Sequence[Mapping[str, Any]], idx) -> tuple[dict[str, Any], Any]:
    """Each metric (array over resamples) and the cell's mean normalised metric, for index matrix ``idx`` (B x n)."""
    import numpy as np

    arrays, scale = _fast_arrays(task, records)
    if arrays is not None:
        out: dict[str, Any] = {}
        norms = []
        for k, a in arrays.items():
            if task.answer == "rating":
                v = np.sqrt(a[idx].mean(axis=1))
                out[k] = v
                norms.append(np.maximum(0.0, 1.0 - v / scale) if scale > 0 else np.zeros_like(v))
            else:
                out[k] = a[idx].mean(axis=1)
                norms.append(out[k])
        return out, np.mean(norms, axis=0)
    metrics: dict[str, list[float]] = {}
    norm: list[float] = []
    for row in idx:
        cell = aggregate_cell(task, [records[i] for i in row])
        for k, v in cell["metrics"].items():
            metrics.setdefault(k, []).append(v)
        norm.append(M.mean(cell["normalised"]))
    return {k: np.array(v, dtype=float) for k, v in metrics.items()}, np.array(norm, dtype=float)


def interval(samples) -> dict[str, float]:
    """Percentile 95% interval and standard error of bootstrap ``samples`` (NaNs ignored)."""
    import numpy as np

    s = np.asarray(samples, dtype=float)
    s = s[~np.isnan(s)]
    if s.size < 2:
        return {"lo": math.nan, "hi": math.nan, "se": math.nan}
    lo, hi = np.percentile(s, [2.5, 97.5])
    return {"lo": float(lo), "hi": float(hi), "se": float(s.std(ddof=1))}


def bootstrap_cells(cells: Sequence[tuple[Task, str, Sequence[Mapping[str, Any]]]], resamples: int, seed: int,
                    roots: Mapping[str, str]) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """Intervals for every cell ``(task, source, records)`` and for each summary score (pUII, pUIU)."""
    import numpy as np

    per_cell: list[dict[str, Any]] = []
    by_root: dict[str, list[Any]] = {}
    for task, source, records in cells:
        n = len(records)
        if n == 0:
            per_cell.append({})
            continue
        idx = _rng(seed, f"{task.name}/{source}").integers(0, n, size=(resamples, n))
        metrics, norm = resampled_metrics(task, records, idx)
        per_cell.append({k: interval(v) for k, v in metrics.items()})
        if not np.all(np.isnan(norm)):
            by_root.setdefault(roots[task.name], []).append(norm)
    summary = {f"p{root}": interval(100.0 * np.nanmean(np.vstack(norms), axis=0)) for root, norms in by_root.items()}
    return per_cell, summary


def paired(task: Task, mine: Sequence[Mapping[str, Any]], theirs: Sequence[Mapping[str, Any]], resamples: int,
           seed: int, key: str) -> tuple[dict[str, dict[str, float]], Any]:
    """Paired bootstrap of this - other for every metric; ``mine``/``theirs`` are aligned by id.

    Returns the per-metric differences and the resampled difference of the cell's mean
    normalised metric (for the summary's paired difference)."""
    import numpy as np

    n = len(mine)
    if n == 0 or resamples <= 0:
        return {}, None
    idx = _rng(seed, "paired/" + key).integers(0, n, size=(resamples, n))
    a, a_norm = resampled_metrics(task, mine, idx)
    b, b_norm = resampled_metrics(task, theirs, idx)
    full = np.arange(n)[None, :]
    a0, a0n = resampled_metrics(task, mine, full)
    b0, b0n = resampled_metrics(task, theirs, full)
    out: dict[str, dict[str, float]] = {}
    for k in a:
        if k in b:
            out[k] = {"diff": float(a0[k][0] - b0[k][0]), **difference(a[k] - b[k])}
    out["normalised"] = {"diff": float(a0n[0] - b0n[0]), **difference(a_norm - b_norm)}
    return out, (a_norm - b_norm, float(a0n[0] - b0n[0]))


def difference(d) -> dict[str, float]:
    """Interval, standard error and two-sided bootstrap p-value of resampled differences ``d``."""
    import numpy as np

    d = np.asarray(d, dtype=float)
    d = d[~np.isnan(d)]
    if d.size < 2:
        return {"lo": math.nan, "hi": math.nan, "se": math.nan, "p": math.nan}
    p = min(1.0, 2.0 * min(float(np.mean(d <= 0)), float(np.mean(d >= 0))))
    return {**interval(d), "p": p}
