"""Candidate-order robustness (issue 12): score TKR/CDR/NIR rows under seeded permutations of
their candidates and measure position bias.

LLM rankers are known to favour candidates by their position in the prompt; a model that copies
the first candidates scores at chance with a random order but looks good whenever the gold is
listed first. A permuted row is the same row with its candidate list (and candidate ids) in a new
order and the prompt's candidate titles rewritten in that order; nothing else changes, and gold
is tracked by title (``positives``), so every metric is computed exactly as for the original.

Reported per cell: each metric's mean and standard deviation over the K orders, and a position
table: for each prompt position p, Hit@1 over the (row, order) pairs whose candidate at p is a
positive, beside the chance level (positives / candidates). A model without position bias shows
the same accuracy at every position; one that always answers the first candidate shows 1.0 at
position 1 and chance (for TKR: (m - 1)/(n - 1)) elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import metrics as M
from .baselines import row_rng
from .scoring import aggregate_cell
from .tasks import Task

ORDER_SEP = "#order"


def _rewrite(text: str, candidates: Sequence[str], new_order: Sequence[str]) -> str:
    """``text`` with the candidate titles (listed in order after a 'candidates' mention) replaced by ``new_order``.

    The list is searched for after the last mention of "candidates" that is followed by all titles
    in order (then from the start): the real MovieLens prompts also say "rank all 10 candidates"
    after the list, so the last mention alone is not the list's heading (issue 13).
    """
    lower = text.lower()
    anchors, at = [], lower.rfind("candidates")
    while at >= 0:
        anchors.append(at)
        at = lower.rfind("candidates", 0, at)
    for pos in anchors + [0]:
        spans = _spans(text, candidates, pos)
        if spans is not None:
            break
    else:
        raise ValueError(f"candidates {list(candidates)[:3]!r}... not found in order in the prompt; cannot permute this row")
    out = text
    for (start, end), title in reversed(list(zip(spans, new_order))):
        out = out[:start] + title + out[end:]
    return out


def _spans(text: str, candidates: Sequence[str], pos: int) -> list[tuple[int, int]] | None:
    spans: list[tuple[int, int]] = []
    for title in candidates:
        at = text.find(title, pos)
        if at < 0:
            return None
        spans.append((at, at + len(title)))
        pos = at + len(title)
    return spans


def permute_row(row: Mapping[str, Any], perm: Sequence[int], k: int) -> dict[str, Any]:
    """Row ``row`` with its candidates in order ``perm`` (new position i holds old candidate perm[i])."""
    cands = list(row["candidates"])
    new = [cands[i] for i in perm]
    out = dict(row)
    out["id"] = f"{row['id']}{ORDER_SEP}{k}"
    out["orig_id"] = row["id"]
    out["candidates"] = new
    if row.get("candidate_ids") is not None:
        ids = list(row["candidate_ids"])
        out["candidate_ids"] = [ids[i] for i in perm]
    out["input"] = _rewrite(str(row["input"]), cands, new)
    msgs = [dict(m) for m in row.get("messages") or []]
    if msgs and msgs[0].get("role") == "user":
        msgs[0]["content"] = _rewrite(msgs[0]["content"], cands, new)
    out["messages"] = msgs
    return out


def permuted_rows(rows: Sequence[Mapping[str, Any]], orders: int, seed: int) -> list[dict[str, Any]]:
    """``orders`` seeded permutations of every row (per-row seed: independent of the other rows)."""
    out = []
    for row in rows:
        n = len(row["candidates"])
        for k in range(orders):
            perm = [int(i) for i in row_rng(seed, row["id"], salt=1000 + k).permutation(n)]
            out.append(permute_row(row, perm, k))
    return out


def order_tasks(tasks: Sequence[Task]) -> list[Task]:
    return [t for t in tasks if t.answer in ("ranking", "choice")]


def run_orders(tasks: Sequence[Task], eval_rows: Mapping[str, Sequence[Mapping[str, Any]]], orders: int, seed: int,
               done: Mapping[str, Any], score: Callable[[Task, list[dict[str, Any]]], None]) -> None:
    """Score every permuted row not yet in ``done`` (``score`` writes the records)."""
    for t in order_tasks(tasks):
        todo = [r for r in permuted_rows(eval_rows[t.name], orders, seed) if r["id"] not in done]
        if todo:
            score(t, todo)


def order_report(task: Task, rows: Sequence[Mapping[str, Any]], records: Mapping[str, Mapping[str, Any]], orders: int,
                 seed: int) -> dict[str, Any]:
    """Mean +- sd of each metric over the orders and Hit@1 by gold position for one cell."""
    perm_rows = permuted_rows(rows, orders, seed)
    per_order: dict[int, list[Mapping[str, Any]]] = {}
    by_pos: dict[int, list[float]] = {}
    chance: dict[int, list[float]] = {}
    for r in perm_rows:
        rec = records.get(r["id"])
        if rec is None:
            continue
        k = int(r["id"].rsplit(ORDER_SEP, 1)[1])
        per_order.setdefault(k, []).append(rec)
        pos = set(r["positives"])
        cands = list(r["candidates"])
        m = len(pos & set(cands))
        for p, c in enumerate(cands, start=1):
            if c in pos:
                by_pos.setdefault(p, []).append(float(rec["scores"]["hit@1"]))
                chance.setdefault(p, []).append(m / len(cands))
    if not per_order:
        return {}
    values: dict[str, list[float]] = {}
    for k in sorted(per_order):
        for name, v in aggregate_cell(task, per_order[k])["metrics"].items():
            values.setdefault(name, []).append(v)
    metrics = {name: {"mean": M.mean(v), "sd": _sd(v), "per_order": v} for name, v in values.items()}
    table = [{"position": p, "n": len(by_pos[p]), "hit@1": M.mean(by_pos[p]), "chance": M.mean(chance[p])}
             for p in sorted(by_pos)]
    return {"orders": len(per_order), "rows": len(rows), "metrics": metrics, "position_bias": table}


def _sd(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    m = M.mean(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1))


def render_markdown(cells: Sequence[Mapping[str, Any]]) -> str:
    cells = [c for c in cells if c.get("candidate_orders")]
    if not cells:
        return ""
    from .baselines import _f

    lines = ["## Candidate-order robustness", "",
             ("Each row scored under K seeded permutations of its candidates (prompt order only; gold by title): "
             "mean +- sd over orders, and Hit@1 by the prompt position of a positive beside chance "
             "(positives / candidates)."), ""]
    for c in cells:
        o = c["candidate_orders"]
        lines.append(f"### {c['abbr']} {c['source']} ({o['orders']} orders x {o['rows']} rows)")
        lines.append("")
        lines.append("- " + "; ".join(f"{k} {_f(v['mean'])} +- {_f(v['sd'])}" for k, v in o["metrics"].items()))
        lines += ["", "| gold position | n | hit@1 | chance |", "|---|---|---|---|"]
        lines += [f"| {r['position']} | {r['n']} | {_f(r['hit@1'])} | {_f(r['chance'])} |" for r in o["position_bias"]]
        lines.append("")
    return "\n".join(lines)
