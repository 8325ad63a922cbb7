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
                         opts: ScoringOptions, pred_path: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``--model baseline:NAME``: append the baseline's records for the rows still to do (each with its
    target and ``extra``, e.g. the prediction fingerprint, like a model's records)."""
    from . import report
    from .baselines import Baseline, applies, load_train_stats, stats_configs

    usable = [t for t in tasks if applies(name, t)]
    skipped = [t.abbr for t in tasks if not applies(name, t)]
    if skipped:
        raise ValueError(f"baseline {name} does not answer {', '.join(skipped)}: restrict --tasks")
    b = Baseline(name, load_train_stats(cfg.train_dataset or cfg.dataset, cfg.revision, stats_configs(usable)), cfg.seed)
    for t in usable:
        report.append_predictions(pred_path, [{**b.record(t, r, opts), "target": r.get("output"), **dict(extra or {})}
                                              for r in todo.get(t.name, [])])
    return {"base_model": f"baseline:{name}", "adapter": None, "baseline": name}


ORDERS_FILE = "candidate_orders.jsonl"


def orders_pending(cfg: EvalConfig, tasks: Sequence[Task], eval_rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> bool:
    from .orders import order_tasks, permuted_rows
    from .report import load_predictions

    done = load_predictions(os.path.join(cfg.output, ORDERS_FILE))
    return any(r["id"] not in done for t in order_tasks(tasks)
               for r in permuted_rows(eval_rows[t.name], cfg.candidate_orders, cfg.seed))


def score_candidate_orders(cfg: EvalConfig, tasks: Sequence[Task], eval_rows: Mapping[str, Sequence[Mapping[str, Any]]],
                           opts: ScoringOptions, budgets: Mapping[str, int], baseline_name: str | None,
                           predictor: Any, state: Any) -> None:
    """Predict the permuted TKR/CDR/NIR rows into ``candidate_orders.jsonl`` (resumable by id)."""
    from . import report
    from .orders import run_orders

    path = os.path.join(cfg.output, ORDERS_FILE)
    done = report.load_predictions(path)
    if baseline_name is not None:
        from .baselines import Baseline, load_train_stats, stats_configs

        b = Baseline(baseline_name, load_train_stats(cfg.train_dataset or cfg.dataset, cfg.revision,
                                                     stats_configs(tasks)), cfg.seed)

        def score(task: Task, rows: list[dict[str, Any]]) -> None:
            if state.is_main_process:  # a baseline needs no sharding: rank 0 writes everything
                report.append_predictions(path, [b.record(task, r, opts) for r in rows])
    else:
        from .runner import _predict_task

        def score(task: Task, rows: list[dict[str, Any]]) -> None:
            if predictor is None:  # runner loads the model whenever orders_pending() is true
                raise RuntimeError("--candidate-orders: permuted rows left but no model loaded")
            mode = cfg.predict_mode if task.closed_set else "generate"
            _predict_task(task, rows, predictor, cfg, opts, budgets[task.name], mode, state, path)

    run_orders(tasks, eval_rows, cfg.candidate_orders, cfg.seed, done, score)


def add_candidate_orders(cfg: EvalConfig, tasks: Sequence[Task], eval_rows: Mapping[str, Sequence[Mapping[str, Any]]],
                         results: dict[str, Any]) -> None:
    from .orders import order_report
    from .report import load_predictions

    if not cfg.candidate_orders:
        return
    recs = load_predictions(os.path.join(cfg.output, ORDERS_FILE))
    tmap = {t.name: t for t in tasks}
    for c in results["cells"]:
        t = tmap[c["task"]]
        if t.answer in ("ranking", "choice"):
            rows = [r for r in eval_rows[t.name] if r["source"] == c["source"]]
            c["candidate_orders"] = order_report(t, rows, recs, cfg.candidate_orders, cfg.seed)


def add_interpretability(cfg: EvalConfig, tasks: Sequence[Task], eval_rows: Mapping[str, Sequence[Mapping[str, Any]]],
                         records: Mapping[str, Mapping[str, Any]], results: dict[str, Any]) -> None:
    """Add baselines / intervals / validity / candidate-order results to ``results`` in place."""
    from .validity import cell_validity

    for c in results["cells"]:
        t = next(t for t in tasks if t.name == c["task"])
        rows = [r for r in eval_rows[t.name] if r["source"] == c["source"]]
        c["validity"] = cell_validity(t, rows, records, cfg.fuzzy_threshold)
    add_uncertainty(cfg, tasks, eval_rows, records, results)
    add_candidate_orders(cfg, tasks, eval_rows, results)
    if cfg.baselines:
        from .baselines import baseline_cells, load_train_stats, stats_configs

        all_tasks = parse_task_list(cfg.tasks)
        stats = load_train_stats(cfg.train_dataset or cfg.dataset, cfg.revision, stats_configs(all_tasks))
        results["baselines"] = baseline_cells(all_tasks, eval_rows, stats, _opts(cfg), seed=cfg.seed,
                                              draws=cfg.baseline_draws)


def _cell_records(tasks: Sequence[Task], eval_rows: Mapping[str, Sequence[Mapping[str, Any]]],
                  records: Mapping[str, Mapping[str, Any]], results: Mapping[str, Any]):
    by_key: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for t in tasks:
        for row in eval_rows[t.name]:
            if row["id"] in records:
                by_key.setdefault((t.name, row["source"]), []).append(records[row["id"]])
    tmap = {t.name: t for t in tasks}
    return [(c, tmap[c["task"]], by_key.get((c["task"], c["source"]), [])) for c in results["cells"]]


def add_uncertainty(cfg: EvalConfig, tasks: Sequence[Task], eval_rows: Mapping[str, Sequence[Mapping[str, Any]]],
                    records: Mapping[str, Mapping[str, Any]], results: dict[str, Any]) -> None:
    """Bootstrap intervals per cell and summary; with --compare, paired differences on common ids."""
    import numpy as np

    from . import bootstrap as B
    from .tasks import TASKS

    if cfg.bootstrap_resamples <= 0 or not results["cells"]:
        return
    roots = {name: t.root for name, t in TASKS.items()}
    triples = _cell_records(tasks, eval_rows, records, results)
    per_cell, summary = B.bootstrap_cells([(t, c["source"], recs) for c, t, recs in triples],
                                          cfg.bootstrap_resamples, cfg.seed, roots)
    for (c, _, _), ci in zip(triples, per_cell):
        c["ci"] = ci
    results["summary"]["ci"] = summary
    results["summary"]["bootstrap"] = {"resamples": cfg.bootstrap_resamples, "seed": cfg.seed,
                                       "interval": "percentile 95%", "se": "sd of the resampled metric"}
    other = compare_predictions(cfg)
    if not other:
        return
    diffs: dict[str, list[Any]] = {}
    for c, t, recs in triples:
        mine = [r for r in recs if r["id"] in other]
        theirs = [other[r["id"]] for r in mine]
        out, norm = B.paired(t, mine, theirs, cfg.bootstrap_resamples, cfg.seed, f"{t.name}/{c['source']}")
        if out:
            c["paired"] = {"n": len(mine), **out}
            diffs.setdefault(t.root, []).append(norm)
    results["summary"]["paired"] = {
        f"p{root}": {"diff": 100.0 * float(np.mean([d[1] for d in ds])),
                     **B.difference(100.0 * np.mean(np.vstack([d[0] for d in ds]), axis=0))}
        for root, ds in diffs.items()
    }


def _uncertainty_md(results: Mapping[str, Any]) -> str:
    s = results.get("summary", {})
    if "ci" not in s:
        return ""
    from .baselines import _f

    b = s.get("bootstrap", {})
    lines = ["## Uncertainty", "",
             (f"Bootstrap over the rows of each cell ({b.get('resamples')} seeded resamples, seed {b.get('seed')}): "
             "value [95% interval] +- standard error. Summary scores resample every cell."), ""]
    for k, ci in s["ci"].items():
        lines.append(f"- {k}: {_f(s.get(k))} [{_f(ci['lo'])}, {_f(ci['hi'])}] +- {_f(ci['se'])}")
    lines += ["", "| subtask | source | n | metric | value | 95% interval | se |", "|---|---|---|---|---|---|---|"]
    for c in results["cells"]:
        for k, ci in (c.get("ci") or {}).items():
            lines.append(f"| {c['abbr']} | {c['source']} | {c['n']} | {k} | {_f(c['metrics'].get(k))} | "
                         f"[{_f(ci['lo'])}, {_f(ci['hi'])}] | {_f(ci['se'])} |")
    if s.get("paired") or any(c.get("paired") for c in results["cells"]):
        lines += ["", "### Paired difference (this - other, same ids)", "",
                  "| subtask | source | n common | metric | difference | 95% interval | p |", "|---|---|---|---|---|---|---|"]
        for k, d in (s.get("paired") or {}).items():
            lines.append(f"| summary | | | {k} | {_f(d['diff'])} | [{_f(d['lo'])}, {_f(d['hi'])}] | {_f(d['p'])} |")
        for c in results["cells"]:
            p = c.get("paired") or {}
            for k, d in p.items():
                if k != "n":
                    lines.append(f"| {c['abbr']} | {c['source']} | {p['n']} | {k} | {_f(d['diff'])} | "
                                 f"[{_f(d['lo'])}, {_f(d['hi'])}] | {_f(d['p'])} |")
    return "\n".join(lines) + "\n"


def render_markdown(results: Mapping[str, Any]) -> str:
    from .orders import render_markdown as orders_md
    from .validity import render_markdown as validity_md

    parts: list[str] = [validity_md(results.get("cells", [])), _uncertainty_md(results),
                        orders_md(results.get("cells", []))]
    if results.get("baselines"):
        from .baselines import render_markdown as baselines_md

        parts.append(baselines_md(results["baselines"], results.get("cells", [])))
    parts = [p for p in parts if p]
    return ("\n" + "\n".join(parts)) if parts else ""


def compare_predictions(cfg: EvalConfig) -> dict[str, dict[str, Any]]:
    from .report import load_predictions

    return load_predictions(os.path.join(cfg.compare, "predictions.jsonl")) if cfg.compare else {}
