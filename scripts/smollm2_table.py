"""The results table of scripts/smollm2_cpu.py, built from its run folders (zero_shot/, tuned/).

cell x {chance, popularity, zero-shot, tuned}: chance = the random baseline's exact expectation,
popularity = the popularity baseline (RP: the item's mean training rating, the nearest RP analogue),
both scored by ``itdr-eval --baselines`` on the same rows; the models with their 95% bootstrap
intervals (from results.json) and parse rates; then tuned - zero-shot as a paired bootstrap over the
same row ids (itdr_eval.bootstrap.paired, 1000 resamples, seed 42), the candidate-order results
(mean +- sd over orders, Hit@1 by gold position) and the wall times.
"""

from __future__ import annotations

import json
import os
from typing import Any

METRICS = {"rating_prediction": ("rmse",), "top_k_recommendation": ("ndcg@10", "hit@1", "p@5"),
           "next_item_recommendation": ("hit@1",)}
POPULARITY = {"rating_prediction": "item_mean"}


def _load(path: str) -> dict[str, Any] | None:
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _f(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def _model(cell: dict[str, Any] | None, metric: str) -> str:
    if not cell:
        return "-"
    ci = (cell.get("ci") or {}).get(metric) or {}
    iv = f" [{_f(ci.get('lo'))}, {_f(ci.get('hi'))}]" if ci else ""
    return f"{_f(cell['metrics'].get(metric))}{iv}"


def paired_rows(zs_dir: str, tuned_dir: str, resamples: int = 1000, seed: int = 42) -> list[tuple[str, str, dict]]:
    from itdr_eval import bootstrap as B
    from itdr_eval.report import load_predictions
    from itdr_eval.tasks import TASKS

    zs = load_predictions(os.path.join(zs_dir, "predictions.jsonl"))
    tu = load_predictions(os.path.join(tuned_dir, "predictions.jsonl"))
    out = []
    for name in METRICS:
        ids = sorted(i for i, r in tu.items() if r["task"] == name and i in zs)
        if ids:
            diffs, _ = B.paired(TASKS[name], [tu[i] for i in ids], [zs[i] for i in ids], resamples, seed, name)
            out.append((TASKS[name].abbr, f"n={len(ids)}", diffs))
    return out


def render(out_dir: str) -> str:
    zs = _load(os.path.join(out_dir, "zero_shot", "results.json")) or {}
    tu = _load(os.path.join(out_dir, "tuned", "results.json")) or {}
    walls = _load(os.path.join(out_dir, "walls.json")) or {}
    cells = {(c["task"], c["source"]): c for c in zs.get("cells", [])}
    tcells = {(c["task"], c["source"]): c for c in tu.get("cells", [])}
    base = {(c["baseline"], c["task"], c["source"]): c for c in zs.get("baselines", [])}
    lines = ["| cell | metric | chance (E) | popularity | zero-shot [95% CI] | tuned [95% CI] |",
             "|---|---|---|---|---|---|"]
    for (task, source), c in cells.items():
        for m in METRICS.get(task, ()):
            rnd = base.get(("random", task, source)) or {}
            chance = (rnd.get("expected") or {}).get(m, (rnd.get("metrics") or {}).get(m))
            pop = (base.get((POPULARITY.get(task, "popularity"), task, source)) or {}).get("metrics", {}).get(m)
            lines.append(f"| {c['abbr']} {source} (n={c['n']}) | {m} | {_f(chance)} | {_f(pop)} | "
                         f"{_model(c, m)} | {_model(tcells.get((task, source)), m)} |")
    lines += ["", "| cell | parse rate zero-shot | parse rate tuned |", "|---|---|---|"]
    for key, c in cells.items():
        t = tcells.get(key) or {}
        lines.append(f"| {c['abbr']} {key[1]} | {_f(c.get('parse_rate'))} | {_f(t.get('parse_rate'))} |")
    if zs and tu:
        lines += ["", "Tuned - zero-shot, paired bootstrap over the same rows (1000 resamples, seed 42):", "",
                  "| subtask | rows | metric | difference | 95% interval | p |", "|---|---|---|---|---|---|"]
        for abbr, n, diffs in paired_rows(os.path.join(out_dir, "zero_shot"), os.path.join(out_dir, "tuned")):
            for k, d in diffs.items():
                lines.append(f"| {abbr} | {n} | {k} | {d['diff']:+.3f} | [{d['lo']:+.3f}, {d['hi']:+.3f}] | {d['p']:.3f} |")
    for label, res in (("zero-shot", zs), ("tuned", tu)):
        for c in res.get("cells", []):
            o = c.get("candidate_orders") or {}
            if not o:
                continue
            ms = ", ".join(f"{k} {_f(v['mean'])} +- {_f(v['sd'])}" for k, v in o["metrics"].items())
            pos = ", ".join(f"p{r['position']}: {_f(r['hit@1'])} (n={r['n']}, chance {_f(r['chance'])})"
                            for r in o["position_bias"][:5])
            lines.append(f"\n- {label} {c['abbr']} over {o['orders']} permuted order(s): {ms}; Hit@1 by gold position {pos}")
    if walls:
        t_zs = (zs.get("timings") or {})
        t_tu = (tu.get("timings") or {})
        lines += ["", "Wall times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in walls.items() if isinstance(v, (int, float))),
                  "",
                  f"itdr-eval timings zero-shot: {json.dumps({k: round(v, 1) for k, v in t_zs.items() if isinstance(v, (int, float))})}",
                  "", f"itdr-eval timings tuned: {json.dumps({k: round(v, 1) for k, v in t_tu.items() if isinstance(v, (int, float))})}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    print(render(sys.argv[1]))


def chart(out_dir: str, path: str) -> None:
    """Bars per (cell, metric): chance, popularity, zero-shot, tuned, with the models' 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    zs = _load(os.path.join(out_dir, "zero_shot", "results.json")) or {}
    tu = _load(os.path.join(out_dir, "tuned", "results.json")) or {}
    base = {(c["baseline"], c["task"]): c for c in zs.get("baselines", [])}
    tcells = {c["task"]: c for c in tu.get("cells", [])}
    panels = [(c, m) for c in zs.get("cells", []) for m in METRICS.get(c["task"], ())]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels), 2.8), dpi=80)
    for ax, (c, m) in zip(axes, panels):
        rnd = base.get(("random", c["task"])) or {}
        popular = base.get((POPULARITY.get(c["task"], "popularity"), c["task"])) or {}
        vals = [(rnd.get("expected") or {}).get(m), popular.get("metrics", {}).get(m),
                c["metrics"].get(m), (tcells.get(c["task"]) or {}).get("metrics", {}).get(m)]
        errs = [[0, 0], [0, 0]]
        for cell in (c, tcells.get(c["task"])):
            ci = ((cell or {}).get("ci") or {}).get(m)
            v = (cell or {}).get("metrics", {}).get(m)
            errs[0].append(v - ci["lo"] if ci and v is not None else 0)
            errs[1].append(ci["hi"] - v if ci and v is not None else 0)
        ax.bar(range(4), [v if v is not None else 0 for v in vals], yerr=errs, capsize=3,
               color=["#bbbbbb", "#888888", "#4c72b0", "#dd8452"])
        ax.set_xticks(range(4), ["chance", "pop.", "zero", "tuned"], fontsize=7)
        ax.set_title(f"{c['abbr']} {m}" + (" (lower better)" if m == "rmse" else ""), fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
