"""Writing results: predictions.jsonl (append-only store), results.json, results.md, results.png."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import metrics as M
from .tasks import TASKS, Task

PRIMARY = {"rating": "rmse", "ranking": "ndcg@10", "choice": "hit@1", "attributes": "mean_acc", "text": "rougeL"}


# ----------------------------------------------------------------------------- predictions store


def load_predictions(path: str) -> dict[str, dict[str, Any]]:
    """Records by id (a later line for the same id wins); a truncated last line is ignored."""
    out: dict[str, dict[str, Any]] = {}
    if not os.path.isfile(path):
        return out
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[rec["id"]] = rec
    return out


def append_predictions(path: str, records: Iterable[Mapping[str, Any]]) -> None:
    records = list(records)
    if not records:
        return
    torn = False
    if os.path.isfile(path) and os.path.getsize(path):
        with open(path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            torn = fh.read(1) != b"\n"  # an interrupted write left half a line
    with open(path, "a", encoding="utf-8") as fh:
        if torn:
            fh.write("\n")
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        fh.flush()


# ----------------------------------------------------------------------------- results


SUMMARY_METHODS = ("paper", "cells")


def summarise(cells: Sequence[Mapping[str, Any]], method: str = "paper") -> dict[str, Any]:
    """pUII / pUIU by ``method`` (``paper``: mean over metric columns; ``cells``: mean over cells), with
    the other method's values under ``alternative`` so both are always on record."""
    if method not in SUMMARY_METHODS:
        raise ValueError(f"unknown summary method {method!r}; known: {', '.join(SUMMARY_METHODS)}")
    values = {m: _summary_values(cells, m) for m in SUMMARY_METHODS}
    other = "cells" if method == "paper" else "paper"
    return {"method": method, **values[method],
            "formula": M.SUMMARY_PAPER_DOC if method == "paper" else M.SUMMARY_DOC,
            "alternative": {"method": other, **values[other]}}


def _summary_values(cells: Sequence[Mapping[str, Any]], method: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for root in ("UII", "UIU"):
        mine = [c for c in cells if TASKS[c["task"]].root == root]
        if method == "cells":
            out[f"p{root}"] = M.summary_score([c["normalised"] for c in mine])
            continue
        columns: dict[tuple[str, str], list[float]] = {}
        for c in mine:
            for metric, value in (c.get("normalised_by_metric") or {}).items():
                columns.setdefault((c["task"], metric), []).append(value)
        out[f"p{root}"] = M.column_summary_score(list(columns.values()))
    return out


def _clean(obj: Any) -> Any:
    """NaN -> None so results.json is strict JSON."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(path: str, results: Mapping[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_clean(dict(results)), fh, indent=2, ensure_ascii=False, default=str)


def _timestamp() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%S.%fZ")


def _point(folder: str, link: str, target: str) -> None:
    """Make ``folder/link`` point at ``folder/target`` (a relative symlink; a copy where links are not allowed)."""
    import shutil

    path = os.path.join(folder, link)
    tmp = path + ".tmp-link"
    if os.path.lexists(tmp):
        os.remove(tmp)
    try:
        os.symlink(target, tmp)
    except (OSError, NotImplementedError):
        shutil.copyfile(os.path.join(folder, target), tmp)
    os.replace(tmp, path)


def write_run_files(folder: str, results: Mapping[str, Any], samples: Sequence[Mapping[str, Any]],
                    other: Mapping[str, Any] | None = None, other_name: str = "", chart: bool = True,
                    appendix: str = "") -> str:
    """Write ``results_<time>.json/.md/.png`` and ``samples_<time>.jsonl`` (never overwriting an earlier
    run's files) and point ``results.json``, ``results.md``, ``results.png``, ``samples.jsonl`` and
    ``latest`` (a one-line file naming the timestamp) at them. Returns the timestamp."""
    ts = _timestamp()
    while os.path.exists(os.path.join(folder, f"results_{ts}.json")):  # same microsecond: never overwrite
        ts = _timestamp()
    write_json(os.path.join(folder, f"results_{ts}.json"), results)
    with open(os.path.join(folder, f"samples_{ts}.jsonl"), "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(_clean(dict(r)), ensure_ascii=False, default=str) + "\n" for r in samples)
    with open(os.path.join(folder, f"results_{ts}.md"), "w", encoding="utf-8") as fh:
        fh.write(render_markdown(_clean(dict(results)), other, other_name) + appendix)
    names = ["results.json", "samples.jsonl", "results.md"]
    if chart:
        write_chart(os.path.join(folder, f"results_{ts}.png"), results, other, other_name or "other")
        names.append("results.png")
    for name in names:
        stem, ext = os.path.splitext(name)
        _point(folder, name, f"{stem}_{ts}{ext}")
    with open(os.path.join(folder, "latest.tmp"), "w", encoding="utf-8") as fh:
        fh.write(ts + "\n")
    os.replace(os.path.join(folder, "latest.tmp"), os.path.join(folder, "latest"))
    return ts


def load_results(run_dir: str) -> dict[str, Any]:
    with open(os.path.join(run_dir, "results.json"), encoding="utf-8") as fh:
        return json.load(fh)


def _fmt(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def _cell_index(results: Mapping[str, Any] | None) -> dict[tuple[str, str], Mapping[str, Any]]:
    if not results:
        return {}
    return {(c["task"], c["source"]): c for c in results.get("cells", [])}


def render_markdown(results: Mapping[str, Any], other: Mapping[str, Any] | None = None, other_name: str = "") -> str:
    """Paper-style tables, one per subtask (rows = sources); with ``other``: ``this / other`` per value."""
    cfg = results["config"]
    lines = [
        "# itdr-eval results", "",
        f"- model: `{results['model']['base_model']}`"
        + (f" + adapter `{results['model']['adapter']}`" if results["model"].get("adapter") else ""),
        f"- dataset: `{cfg['dataset']}` (revision `{cfg['revision']}`), subset: `{cfg['subset']}`",
        f"- prediction mode: `{cfg['predict_mode']}` (likelihood applies to RP, TKR, CDR, NIR; UAP, IR, TUI are generated)",
        f"- fine-tuning: `{cfg['finetune']}`"
        + (f" on `{cfg['train_tasks'] or cfg['tasks']}`, fraction {cfg['train_fraction']}" if cfg["finetune"] != "none" else ""),
        f"- BLEU: {results['notes']['bleu']}",
        f"- ROUGE: {results['notes']['rouge']}",
        f"- misses: {results['notes']['misses']}",
    ]
    if other is not None:
        lines.append(f"- values are `this / {other_name or 'other'}`")
    s = results["summary"]
    lines += ["", f"## Summary (`--summary {s.get('method', 'cells')}`)", "", "| | pUII | pUIU |", "|---|---|---|"]
    if other is not None:
        o = other.get("summary", {})
        lines.append(f"| this / other | {_fmt(s.get('pUII'))} / {_fmt(o.get('pUII'))} | {_fmt(s.get('pUIU'))} / {_fmt(o.get('pUIU'))} |")
    else:
        lines.append(f"| this run | {_fmt(s.get('pUII'))} | {_fmt(s.get('pUIU'))} |")
    alt = s.get("alternative") or {}
    if alt:
        lines.append(f"| this run, `--summary {alt['method']}` | {_fmt(alt.get('pUII'))} | {_fmt(alt.get('pUIU'))} |")
    lines += ["", s.get("formula") or M.SUMMARY_DOC, "", M.RANDOM_NDCG_NOTE, ""]
    others = _cell_index(other)
    for task in TASKS.values():
        cells = [c for c in results["cells"] if c["task"] == task.name]
        if not cells:
            continue
        names: list[str] = []
        for c in cells:
            names += [k for k in c["metrics"] if k not in names]
        lines += [f"## {task.abbr} ({task.name})", "", "| source | n | parse rate | " + " | ".join(names) + " |",
                  "|---" * (3 + len(names)) + "|"]
        for c in cells:
            oc = others.get((c["task"], c["source"]))
            vals = []
            for key in ["parse_rate"] + names:
                v = c["parse_rate"] if key == "parse_rate" else c["metrics"].get(key)
                if oc is not None:
                    ov = oc["parse_rate"] if key == "parse_rate" else oc["metrics"].get(key)
                    vals.append(f"{_fmt(v)} / {_fmt(ov)}")
                else:
                    vals.append(_fmt(v))
            lines.append(f"| {c['source']} | {c['n']} | " + " | ".join(vals) + " |")
        lines.append("")
    t = results.get("timings", {})
    lines += ["## Timings (s)", "", "```json", json.dumps(t, indent=2), "```", ""]
    return "\n".join(lines)


def _value(cell: Mapping[str, Any] | None, key: str) -> float | None:
    """A cell's metric, ``None`` when the cell or the metric is missing (or NaN)."""
    v = (cell or {}).get("metrics", {}).get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _bars(ax: Any, xs: Sequence[float], values: Sequence[float | None], width: float, label: str, top: float) -> None:
    """Bars labelled with their value; a missing value gets no bar and an "n/a" label, so a zero bar
    (labelled "0.00") and a missing cell never look alike."""
    bars = ax.bar(xs, [v or 0.0 for v in values], width, label=label)
    for x, v, bar in zip(xs, values, bars):
        if v is None:
            bar.set_visible(False)
        ax.text(x, (v or 0.0) + top * 0.01, "n/a" if v is None else f"{v:.2f}", ha="center", va="bottom",
                fontsize=6, color="grey" if v is None else "black")


def write_chart(path: str, results: Mapping[str, Any], other: Mapping[str, Any] | None = None, other_name: str = "other") -> None:
    """One panel per subtask: the primary metric per source (paired bars with ``other``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks: list[Task] = [t for t in TASKS.values() if any(c["task"] == t.name for c in results["cells"])]
    if not tasks:
        return
    others = _cell_index(other)
    ncols = min(4, len(tasks))
    nrows = math.ceil(len(tasks) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.4 * nrows), squeeze=False)
    for ax in axes.flat[len(tasks):]:
        ax.axis("off")
    for ax, task in zip(axes.flat, tasks):
        key = PRIMARY[task.answer]
        cells = [c for c in results["cells"] if c["task"] == task.name]
        xs = range(len(cells))
        mine = [_value(c, key) for c in cells]
        width = 0.4 if other is not None else 0.8
        top = 1.0 if key != "rmse" else max([v for v in mine if v is not None] + [1e-9]) * 1.15
        _bars(ax, [x - (width / 2 if other is not None else 0) for x in xs], mine, width, "this", top)
        if other is not None:
            theirs = [_value(others.get((c["task"], c["source"])), key) for c in cells]
            top = max([top] + [v * 1.15 for v in theirs if v is not None and key == "rmse"])
            _bars(ax, [x + width / 2 for x in xs], theirs, width, other_name, top)
            ax.legend(fontsize=7)
        ax.set_ylim(0.0, top)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([c["source"] for c in cells], rotation=30, ha="right", fontsize=7)
        ax.set_title(f"{task.abbr}: {key}" + (" (lower is better)" if key == "rmse" else ""), fontsize=9)
        # the random baseline's exact expectation as a chance line per source
        chance = {(b["task"], b["source"]): (b.get("expected") or {}).get(key)
                  for b in results.get("baselines") or [] if b.get("baseline") == "random"}
        for x, c in zip(xs, cells):
            level = chance.get((c["task"], c["source"]))
            if level is not None:
                ax.hlines(level, x - 0.45, x + 0.45, colors="black", linestyles="dashed", linewidth=1,
                          label="chance" if x == 0 else None)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
