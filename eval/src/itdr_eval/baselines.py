"""Model-free baselines scored on the identical rows as the model (issue 12).

A score means little without the score a trivial strategy reaches on the same rows: with 5
positives among 10 candidates a random ranking already has NDCG@10 ~0.77, and uniform negatives
are mostly obscure items, so ranking by popularity alone beats chance by far. Each baseline turns
a row into a record exactly like a model's prediction (``scoring.make_record``), so every metric,
miss rule and aggregation is shared with the model.

Baselines (``--baselines`` scores all that apply; ``--model baseline:NAME`` scores one as "the model"):

* ``random`` - RP/TKR/CDR/NIR: a seeded uniform draw (a random permutation of the candidates, a
  random value of the rating scale, a random candidate). The cell also carries the exact
  expectation of each metric (``expected``, analytic) and the mean over ``--baseline-draws``
  seeded draws (``simulated``). For RP the expectation is of the mean squared error; the reported
  RMSE is its square root (what an infinite pool of random guesses scores).
* ``first`` - TKR/CDR/NIR: the candidates in the prompt's order (a pure position-bias control).
* ``popularity`` - TKR/CDR/NIR: candidates by their interaction count in the train split of the
  same source (every train row's target item plus the ids of its positives, over all interaction
  configs); ties keep the prompt's order.
* ``global_mean`` / ``user_mean`` / ``item_mean`` - RP: the mean train rating of the source / the
  mean of the ratings shown in the row's own history (falls back to the global mean) / the item's
  mean train rating (falls back to the global mean).
* ``majority`` - UAP: per attribute, the most frequent train value (categorical) or the train
  mean (numeric, which minimises the RMSE).
* ``medoid`` - IR/TUI: one constant answer per cell: the train reference of the same source with
  the highest mean unigram F1 to the other references (a seeded sample of at most 300).
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import metrics as M
from .scoring import (
    ScoringOptions,
    aggregate_cell,
    format_rating,
    make_record,
    rating_options,
)
from .tasks import TASKS, Task

BASELINES: dict[str, tuple[str, ...]] = {
    "random": ("rating", "ranking", "choice"),
    "first": ("ranking", "choice"),
    "popularity": ("ranking", "choice"),
    "global_mean": ("rating",),
    "user_mean": ("rating",),
    "item_mean": ("rating",),
    "majority": ("attributes",),
    "medoid": ("text",),
}
INTERACTION_CONFIGS = ("rating_prediction", "top_k_recommendation", "cross_domain_recommendation",
                       "next_item_recommendation")
_HISTORY_RATING = re.compile(r"\((\d+(?:\.\d+)?)\)\s*$")
_WORD = re.compile(r"\w+")


def applies(name: str, task: Task) -> bool:
    return task.answer in BASELINES[name]


def parse_baseline_name(model: str) -> str | None:
    """``'baseline:popularity'`` -> ``'popularity'``; ``None`` for a real model; error on an unknown name."""
    if not model.startswith("baseline:"):
        return None
    name = model.split(":", 1)[1]
    if name not in BASELINES:
        raise ValueError(f"--model {model}: unknown baseline; known: {', '.join(BASELINES)}")
    return name


def row_rng(seed: int, row_id: str, salt: int = 0):
    """A generator per row, so a row's draw does not depend on which other rows are scored."""
    import numpy as np

    return np.random.default_rng([seed, zlib.crc32(row_id.encode()), salt])


# ----------------------------------------------------------------------------- statistics from train


@dataclass
class TrainStats:
    """What the baselines learn from the train split, per source."""

    item_counts: dict[str, Counter] = field(default_factory=dict)
    ratings: dict[str, list[float]] = field(default_factory=dict)
    item_ratings: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    attributes: dict[str, dict[str, list[tuple[str, str]]]] = field(default_factory=dict)
    references: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add_row(self, config: str, row: Mapping[str, Any]) -> None:
        src = row["source"]
        if config in INTERACTION_CONFIGS:
            counts = self.item_counts.setdefault(src, Counter())
            items = {row.get("item_id") or ""}
            cands = list(row.get("candidates") or [])
            ids = list(row.get("candidate_ids") or [])
            by_title = dict(zip(cands, ids))
            items |= {by_title.get(p, "") for p in row.get("positives") or []}
            counts.update(i for i in items if i)
        if config == "rating_prediction" and row.get("rating") is not None:
            r = float(row["rating"])
            self.ratings.setdefault(src, []).append(r)
            if row.get("item_id"):
                self.item_ratings.setdefault(src, {}).setdefault(row["item_id"], []).append(r)
        if config == "user_attribute_prediction":
            per = self.attributes.setdefault(src, {})
            for a in row.get("attributes") or []:
                per.setdefault(a["name"], []).append((a["kind"], a["value"]))
        if TASKS.get(config) is not None and TASKS[config].answer == "text" and row.get("output"):
            self.references.setdefault((config, src), []).append(row["output"])


def load_train_stats(dataset: str, revision: str | None, configs: Sequence[str]) -> TrainStats:
    """Train statistics from every config in ``configs`` that the dataset has (missing ones skipped)."""
    from .data import load_split

    stats = TrainStats()
    for config in dict.fromkeys(configs):
        try:
            ds = load_split(dataset, config, "train", revision)
        except (FileNotFoundError, ValueError):
            continue
        for row in ds.to_list():
            stats.add_row(config, row)
    return stats


def stats_configs(tasks: Sequence[Task]) -> list[str]:
    """Configs whose train split the baselines of ``tasks`` need."""
    need: list[str] = []
    for t in tasks:
        if t.answer in ("ranking", "choice", "rating"):
            need += list(INTERACTION_CONFIGS)
        else:
            need.append(t.name)
    return list(dict.fromkeys(need))


# ----------------------------------------------------------------------------- predictions


def _medoid(texts: Sequence[str], seed: int) -> str:
    import numpy as np

    if not texts:
        return ""
    texts = sorted(set(texts))
    if len(texts) > 300:
        idx = np.random.default_rng(seed).choice(len(texts), 300, replace=False)
        texts = [texts[i] for i in sorted(idx)]
    bags = [Counter(w.casefold() for w in _WORD.findall(t)) for t in texts]
    sizes = [sum(b.values()) for b in bags]
    best, best_score = 0, -1.0
    for i, bi in enumerate(bags):
        total = 0.0
        for j, bj in enumerate(bags):
            if i != j and sizes[i] and sizes[j]:
                overlap = sum((bi & bj).values())
                total += 2 * overlap / (sizes[i] + sizes[j])
        if total > best_score:
            best, best_score = i, total
    return texts[best]


def _numeric(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def user_history_mean(row: Mapping[str, Any]) -> float | None:
    """Mean of the ``(rating)`` at the end of the input's lines, i.e. the ratings the prompt shows."""
    vals = [float(m.group(1)) for line in str(row.get("input", "")).splitlines()
            if (m := _HISTORY_RATING.search(line))]
    lo, hi = float(row["rating_min"]), float(row["rating_max"])
    vals = [v for v in vals if lo <= v <= hi]
    return M.mean(vals) if vals else None


@dataclass
class Baseline:
    """One baseline: ``predict(task, row)`` returns the parsed answer a model would have given."""

    name: str
    stats: TrainStats
    seed: int = 42
    _medoids: dict[tuple[str, str], str] = field(default_factory=dict)

    def predict(self, task: Task, row: Mapping[str, Any]) -> Any:
        if not applies(self.name, task):
            raise ValueError(f"baseline {self.name} does not apply to {task.abbr}")
        src = row["source"]
        if self.name == "random":
            rng = row_rng(self.seed, row["id"])
            if task.answer == "rating":
                vals = rating_options(float(row["rating_min"]), float(row["rating_max"]))
                return vals[int(rng.integers(len(vals)))]
            cands = list(row["candidates"])
            perm = rng.permutation(len(cands))
            return [cands[i] for i in perm] if task.answer == "ranking" else cands[int(perm[0])]
        if self.name in ("first", "popularity"):
            cands = list(row["candidates"])
            if self.name == "popularity":
                counts = self.stats.item_counts.get(src, Counter())
                ids = list(row.get("candidate_ids") or cands)
                pop = [float(counts.get(i, 0)) for i in ids]
                cands = M.ranking_from_scores(cands, pop)
            return cands if task.answer == "ranking" else cands[0]
        if task.answer == "rating":
            glob = M.mean(self.stats.ratings.get(src, []))
            if math.isnan(glob):
                glob = (float(row["rating_min"]) + float(row["rating_max"])) / 2
            if self.name == "global_mean":
                return glob
            if self.name == "user_mean":
                v = user_history_mean(row)
                return glob if v is None else v
            item = self.stats.item_ratings.get(src, {}).get(row.get("item_id") or "")
            return M.mean(item) if item else glob
        if task.answer == "attributes":
            per = self.stats.attributes.get(src, {})
            out: dict[str, str] = {}
            for a in row["attributes"]:
                seen = per.get(a["name"], [])
                if a["kind"] == "numeric":
                    nums = [v for _, s in seen if (v := _numeric(s)) is not None]
                    if nums:
                        out[a["name"]] = format_rating(round(M.mean(nums), 4))
                elif seen:
                    counts = Counter(s for _, s in seen)
                    out[a["name"]] = max(sorted(counts), key=lambda s: counts[s])
            return out
        key = (task.name, src)
        if key not in self._medoids:
            self._medoids[key] = _medoid(self.stats.references.get(key, []), self.seed)
        return self._medoids[key]

    def record(self, task: Task, row: Mapping[str, Any], opts: ScoringOptions) -> dict[str, Any]:
        parsed = self.predict(task, row)
        raw = parsed if isinstance(parsed, str) else repr(parsed)
        return make_record(task, row, mode=f"baseline:{self.name}", raw=raw, parsed=parsed, ok=True, opts=opts)


# ----------------------------------------------------------------------------- chance level


def _positives_in(row: Mapping[str, Any]) -> tuple[int, int]:
    cands = list(row["candidates"])
    return len(cands), len(set(row["positives"]) & set(cands))


def expected_random(task: Task, rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    r"""The exact expectation of each metric under a uniformly random answer.

    Ranking of :math:`n` candidates with :math:`m` positives: :math:`E[\mathrm{Hit@1}] = m/n`,
    :math:`E[\mathrm{P@5}] = \min(5,n)\,m/(5n)`, :math:`E[\mathrm{NDCG@10}] = \frac{m}{n}
    \sum_{i=1}^{\min(10,n)} \frac{1}{\log_2(i+1)} / \mathrm{IDCG}`; NIR Hit@1 = :math:`m/n`; RP:
    :math:`\sqrt{\tfrac1N\sum_{rows}\tfrac1{|V|}\sum_{v\in V}(v-y)^2}` over the scale values :math:`V`.
    """
    if not rows:
        return {}
    if task.answer == "rating":
        mse = []
        for r in rows:
            vals = rating_options(float(r["rating_min"]), float(r["rating_max"]))
            mse.append(M.mean((v - float(r["rating"])) ** 2 for v in vals))
        return {"rmse": math.sqrt(M.mean(mse))}
    if task.answer == "choice":
        return {"hit@1": M.mean(m / n for n, m in map(_positives_in, rows))}
    ndcg, hit, p5 = [], [], []
    for r in rows:
        n, m = _positives_in(r)
        n_pos = len(set(r["positives"]))
        frac = m / n if n else 0.0
        hit.append(frac)
        p5.append(min(5, n) * frac / 5)
        ideal = M.dcg_at_k([1] * min(10, n_pos), 10)
        ndcg.append(frac * M.dcg_at_k([1] * min(10, n), 10) / ideal if ideal else 0.0)
    return {"ndcg@10": M.mean(ndcg), "hit@1": M.mean(hit), "p@5": M.mean(p5)}


def simulate_random(task: Task, rows: Sequence[Mapping[str, Any]], draws: int, seed: int) -> dict[str, float]:
    """The mean of each metric over ``draws`` seeded random answers per row (vectorised)."""
    import numpy as np

    if not rows or draws <= 0:
        return {}
    rng = np.random.default_rng(seed)
    if task.answer == "rating":
        sq = []
        for r in rows:
            vals = np.array(rating_options(float(r["rating_min"]), float(r["rating_max"])))
            sq.append(float(np.mean((rng.choice(vals, draws) - float(r["rating"])) ** 2)))
        return {"rmse": math.sqrt(M.mean(sq))}
    ndcg, hit, p5 = [], [], []
    for r in rows:
        cands = list(r["candidates"])
        rel = np.array(M.relevance(cands, list(r["positives"])), dtype=float)
        n = len(cands)
        ranked = rel[np.argsort(rng.random((draws, n)), axis=1)]
        hit.append(float(ranked[:, 0].mean()))
        if task.answer == "ranking":
            k = min(10, n)
            disc = 1.0 / np.log2(np.arange(2, k + 2))
            ideal = M.dcg_at_k([1] * min(10, len(set(r["positives"]))), 10)
            ndcg.append(float((ranked[:, :k] @ disc).mean() / ideal) if ideal else 0.0)
            p5.append(float(ranked[:, :5].sum(axis=1).mean() / 5))
    if task.answer == "choice":
        return {"hit@1": M.mean(hit)}
    return {"ndcg@10": M.mean(ndcg), "hit@1": M.mean(hit), "p@5": M.mean(p5)}


# ----------------------------------------------------------------------------- cells


def baseline_cells(tasks: Sequence[Task], eval_rows: Mapping[str, Sequence[Mapping[str, Any]]], stats: TrainStats,
                   opts: ScoringOptions, *, seed: int, draws: int, names: Sequence[str] = tuple(BASELINES)) -> list[dict[str, Any]]:
    """Every applicable baseline scored on every (subtask, source) cell of ``eval_rows``."""
    cells: list[dict[str, Any]] = []
    for t in tasks:
        by_source: dict[str, list[Mapping[str, Any]]] = {}
        for row in eval_rows.get(t.name, []):
            by_source.setdefault(row["source"], []).append(row)
        for source in sorted(by_source):
            rows = by_source[source]
            for name in names:
                if not applies(name, t):
                    continue
                b = Baseline(name, stats, seed)
                records = [b.record(t, r, opts) for r in rows]
                cell: dict[str, Any] = {"baseline": name, "task": t.name, "abbr": t.abbr, "source": source,
                                        **aggregate_cell(t, records)}
                if name == "random":
                    cell["expected"] = expected_random(t, rows)
                    cell["simulated"] = simulate_random(t, rows, draws, seed)
                    cell["draws"] = draws
                cells.append(cell)
    return cells


def render_markdown(cells: Sequence[Mapping[str, Any]], model_cells: Sequence[Mapping[str, Any]] = ()) -> str:
    """One table per subtask: each baseline per source, the model's row first when there is one."""
    if not cells:
        return ""
    model = {(c["task"], c["source"]): c for c in model_cells}
    lines = ["## Baselines on the same rows", "",
             ("Model-free controls scored exactly like the model (see eval/README.md, Baselines). "
             "`random` shows one seeded draw, then its exact expectation (`E`) and the mean of the "
             "seeded simulation (`sim`)."), ""]
    for task in TASKS.values():
        tc = [c for c in cells if c["task"] == task.name]
        if not tc:
            continue
        names: list[str] = []
        for c in tc:
            names += [k for k in c["metrics"] if k not in names]
        lines += [f"### {task.abbr} ({task.name})", "", "| source | n | baseline | " + " | ".join(names) + " |",
                  "|---" * (3 + len(names)) + "|"]
        for source in sorted({c["source"] for c in tc}):
            mc = model.get((task.name, source))
            if mc is not None:
                lines.append(f"| {source} | {mc['n']} | **model** | " + " | ".join(_f(mc["metrics"].get(k)) for k in names) + " |")
            for c in (c for c in tc if c["source"] == source):
                vals = []
                for k in names:
                    v = _f(c["metrics"].get(k))
                    if c["baseline"] == "random" and k in c.get("expected", {}):
                        v += f" (E {_f(c['expected'][k])}, sim {_f(c['simulated'].get(k))})"
                    vals.append(v)
                lines.append(f"| {source} | {c['n']} | {c['baseline']} | " + " | ".join(vals) + " |")
        lines.append("")
    return "\n".join(lines)


def _f(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def chance_levels(cells: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, float]]:
    """(task, source) -> the random baseline's expected metrics (for the chart's chance lines)."""
    return {(c["task"], c["source"]): dict(c.get("expected") or {}) for c in cells if c.get("baseline") == "random"}
