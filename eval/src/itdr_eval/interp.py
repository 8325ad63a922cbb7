"""Glue between the run and the interpretability modules of issue 12 (baselines, bootstrap
intervals, candidate orders, output validity): what gets added to ``results.json`` and
``results.md``. Kept apart from ``runner.py``/``report.py`` so each feature stays in its own module."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .config import EvalConfig
from .scoring import ScoringOptions
from .tasks import Task, parse_task_list


def _opts(cfg: EvalConfig) -> ScoringOptions:
    return ScoringOptions(fuzzy_threshold=cfg.fuzzy_threshold, bleu_tokenize=cfg.bleu_tokenize,
                          rouge_stemmer=cfg.rouge_stemmer)


def baseline_predictions(cfg: EvalConfig, name: str, tasks: Sequence[Task], todo: Mapping[str, Sequence[Mapping[str, Any]]],
                         opts: ScoringOptions, pred_path: str) -> dict[str, Any]:
    """``--model baseline:NAME``: append the baseline's records for the rows still to do."""
    from . import report
    from .baselines import Baseline, applies, load_train_stats, stats_configs

    usable = [t for t in tasks if applies(name, t)]
    skipped = [t.abbr for t in tasks if not applies(name, t)]
    if skipped:
        raise ValueError(f"baseline {name} does not answer {', '.join(skipped)}: restrict --tasks")
    b = Baseline(name, load_train_stats(cfg.train_dataset or cfg.dataset, cfg.revision, stats_configs(usable)), cfg.seed)
    for t in usable:
        report.append_predictions(pred_path, [b.record(t, r, opts) for r in todo[t.name]])
    return {"base_model": f"baseline:{name}", "adapter": None, "baseline": name}


def add_interpretability(cfg: EvalConfig, tasks: Sequence[Task], eval_rows: Mapping[str, Sequence[Mapping[str, Any]]],
                         records: Mapping[str, Mapping[str, Any]], results: dict[str, Any]) -> None:
    """Add baselines / intervals / validity / candidate-order results to ``results`` in place."""
    if cfg.baselines:
        from .baselines import baseline_cells, load_train_stats, stats_configs

        all_tasks = parse_task_list(cfg.tasks)
        stats = load_train_stats(cfg.train_dataset or cfg.dataset, cfg.revision, stats_configs(all_tasks))
        results["baselines"] = baseline_cells(all_tasks, eval_rows, stats, _opts(cfg), seed=cfg.seed,
                                              draws=cfg.baseline_draws)


def render_markdown(results: Mapping[str, Any]) -> str:
    parts: list[str] = []
    if results.get("baselines"):
        from .baselines import render_markdown as baselines_md

        parts.append(baselines_md(results["baselines"], results.get("cells", [])))
    return ("\n" + "\n".join(parts)) if parts else ""


def compare_predictions(cfg: EvalConfig) -> dict[str, dict[str, Any]]:
    from .report import load_predictions

    return load_predictions(os.path.join(cfg.compare, "predictions.jsonl")) if cfg.compare else {}
