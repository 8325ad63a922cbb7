"""Per-example scoring (one record per prediction) and per-cell aggregation.

``score_example`` turns (row, raw output or option scores) into a JSON-serialisable record with
the parsed value, whether it parsed, and the per-example scores; ``aggregate_cell`` turns the
records of one (subtask, source) cell into its metrics. Ground truth comes from the row's
structured columns (docs/SCHEMA.md), never from prompt text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import metrics as M
from .parsing import parse_attributes, parse_choice, parse_number, parse_ranking
from .tasks import Task


@dataclass(frozen=True, kw_only=True)
class ScoringOptions:
    fuzzy_threshold: float = 85.0
    bleu_tokenize: str = "13a"
    rouge_stemmer: bool = True


# ----------------------------------------------------------------------------- per example


def format_rating(value: float) -> str:
    return f"{value:g}"


def rating_options(rating_min: float, rating_max: float) -> list[float]:
    """The values of a rating scale: half steps when an end is fractional (MovieLens 0.5-5), else integers."""
    step = 0.5 if (rating_min % 1 or rating_max % 1) else 1.0
    n = round((rating_max - rating_min) / step)
    return [rating_min + i * step for i in range(n + 1)]


def rating_option_strings(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[float, float], dict[float, str]]:
    """Per rating scale ``(rating_min, rating_max)``: the exact answer string of every scale value, as
    the dataset's ``output`` column writes it (MovieLens targets are ``'4.0'``, not ``'4'``).

    A value never seen in ``rows`` is written like the seen ones: with as many decimals as the
    outputs of that scale use. Likelihood RP scores these strings, so the options are the answers
    the model was trained to produce.
    """
    seen: dict[tuple[float, float], dict[float, str]] = {}
    for r in rows:
        if r.get("rating") is None or r.get("output") is None:
            continue
        key = (float(r["rating_min"]), float(r["rating_max"]))
        seen.setdefault(key, {}).setdefault(float(r["rating"]), str(r["output"]).strip())
    out: dict[tuple[float, float], dict[float, str]] = {}
    for (lo, hi), by_value in seen.items():
        decimals = max((len(s.partition(".")[2]) for s in by_value.values()), default=0)
        out[(lo, hi)] = {v: by_value.get(v, f"{v:.{decimals}f}") for v in rating_options(lo, hi)}
    return out


def score_rating(row: Mapping[str, Any], parsed: float | None) -> dict[str, Any]:
    lo, hi, ref = float(row["rating_min"]), float(row["rating_max"]), float(row["rating"])
    err = M.rating_error(parsed, ref, lo, hi)
    return {"abs_error": err, "scale_range": hi - lo}


def score_ranking(row: Mapping[str, Any], ranked: Sequence[str | None]) -> dict[str, Any]:
    pos = list(row["positives"])
    return {
        "ndcg@10": M.ndcg_at_k(ranked, pos, 10),
        "hit@1": M.hit_at_k(ranked, pos, 1),
        "p@5": M.precision_at_k(ranked, pos, 5),
    }


def score_choice(row: Mapping[str, Any], choice: str | None) -> dict[str, Any]:
    return {"hit@1": M.hit_at_k([choice], list(row["positives"]), 1)}


def score_attributes(row: Mapping[str, Any], parsed: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in row["attributes"]:
        name, ref, kind = attr["name"], attr["value"], attr["kind"]
        pred = parsed.get(name)
        if kind == "numeric":
            value = parse_number(pred) if pred is not None else None
            # the raw error; aggregation clamps the prediction to the cell's reference range first
            out[name] = {"kind": kind, "ref": float(ref), "pred": value,
                         "error": None if value is None else value - float(ref)}
        else:
            out[name] = {"kind": kind, "correct": M.exact_match(pred, ref)}
    return {"attributes": out}


def score_text(row: Mapping[str, Any], text: str, opts: ScoringOptions) -> dict[str, Any]:
    ref = row["output"]
    scores: dict[str, Any] = dict(M.rouge_f1(text, ref, opts.rouge_stemmer))
    for n in (1, 2):
        s = M.bleu_stats(text, ref, n, opts.bleu_tokenize)
        scores[f"bleu{n}_stats"] = [list(s.correct), list(s.total), s.sys_len, s.ref_len]
    return scores


def parse_output(task: Task, row: Mapping[str, Any], text: str, opts: ScoringOptions) -> tuple[Any, bool, dict[str, Any]]:
    """Parse generated ``text`` for ``task``: (parsed value, parsed ok, extra info)."""
    if task.answer == "rating":
        value = parse_number(text, float(row["rating_min"]), float(row["rating_max"]))
        return value, value is not None, {}
    if task.answer == "ranking":
        rp = parse_ranking(text, list(row["candidates"]), opts.fuzzy_threshold)
        return rp.items, rp.ok, {"hallucinated": rp.hallucinated, "duplicates": rp.duplicates}
    if task.answer == "choice":
        choice = parse_choice(text, list(row["candidates"]), opts.fuzzy_threshold)
        return choice, choice is not None, {}
    if task.answer == "attributes":
        names = [a["name"] for a in row["attributes"]]
        parsed = parse_attributes(text, names)
        return parsed, all(n in parsed for n in names), {}
    return text, bool(text.strip()), {}


def score_parsed(task: Task, row: Mapping[str, Any], parsed: Any, opts: ScoringOptions) -> dict[str, Any]:
    if task.answer == "rating":
        return score_rating(row, parsed)
    if task.answer == "ranking":
        return score_ranking(row, parsed)
    if task.answer == "choice":
        return score_choice(row, parsed)
    if task.answer == "attributes":
        return score_attributes(row, parsed)
    return score_text(row, parsed, opts)


def make_record(task: Task, row: Mapping[str, Any], *, mode: str, raw: Any, parsed: Any, ok: bool,
                opts: ScoringOptions, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The predictions.jsonl record of one example."""
    return {
        "id": row["id"], "task": task.name, "source": row["source"], "mode": mode,
        "raw": raw, "parsed": parsed, "parse_ok": bool(ok),
        "scores": score_parsed(task, row, parsed, opts), **(dict(extra) if extra else {}),
    }


def record_from_text(task: Task, row: Mapping[str, Any], text: str, opts: ScoringOptions) -> dict[str, Any]:
    parsed, ok, extra = parse_output(task, row, text, opts)
    return make_record(task, row, mode="generate", raw=text, parsed=parsed, ok=ok, opts=opts, extra=extra)


# ----------------------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class CellMetric:
    """A metric of a cell, from its per-example scores; ``summary`` says whether it enters pUII/pUIU."""

    name: str
    answer: str
    summary: bool
    aggregate: Callable[[Sequence[Mapping[str, Any]]], float]
    normalise: Callable[[float, Sequence[Mapping[str, Any]]], float]


CELL_METRICS: dict[str, list[CellMetric]] = {}


def register_metric(
    name: str,
    *,
    answer: str,
    summary: bool,
    normalise: Callable[[float, Sequence[Mapping[str, Any]]], float] | None = None,
) -> Callable:
    """Register ``fn(scores) -> value`` as cell metric ``name`` of the subtasks whose answer type is ``answer``.

    ``summary`` must be stated: a metric that counts toward the summary scores changes pUII/pUIU, so a
    diagnostic one (``summary=False``) is reported without moving them. ``normalise(value, scores)``
    maps the value to [0, 1] for the summary (default: the value itself, for fractions).
    (User attribute prediction's metrics are named after the attributes a source has, so they are
    computed by ``_aggregate_attributes``, not registered.)
    """

    def decorator(fn: Callable[[Sequence[Mapping[str, Any]]], float]) -> Callable:
        if any(m.name == name for m in CELL_METRICS.get(answer, [])):
            raise ValueError(f"metric {name!r} of {answer!r} answers is registered twice")
        CELL_METRICS.setdefault(answer, []).append(
            CellMetric(name, answer, summary, fn, normalise or (lambda value, scores: value))
        )
        return fn

    return decorator


def summary_metrics(answer: str) -> list[str]:
    return [m.name for m in CELL_METRICS.get(answer, []) if m.summary]


def _scale(scores: Sequence[Mapping[str, Any]]) -> float:
    return scores[0]["scale_range"] if scores else math.nan


@register_metric("rmse", answer="rating", summary=True, normalise=lambda v, scores: M.error_to_score(v, _scale(scores)))
def _rmse(scores):
    return M.rmse(s["abs_error"] for s in scores)


def _register_mean(name: str, answer: str) -> None:
    register_metric(name, answer=answer, summary=True)(lambda scores: M.mean(s[name] for s in scores))


for _name in ("ndcg@10", "hit@1", "p@5"):
    _register_mean(_name, "ranking")
_register_mean("hit@1", "choice")


def _register_bleu(order: int) -> None:
    def bleu(scores):
        stats = [M.BleuStats(tuple(c), tuple(t), sl, rl) for c, t, sl, rl in (s[f"bleu{order}_stats"] for s in scores)]
        return M.corpus_bleu(stats, order)

    register_metric(f"bleu{order}", answer="text", summary=True)(bleu)


for _order in (1, 2):
    _register_bleu(_order)
for _name in ("rouge1", "rouge2", "rougeL"):
    _register_mean(_name, "text")


def aggregate_cell(task: Task, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Metrics of one (subtask, source) cell from its records; every record is in every denominator.

    Returns ``{"n", "parse_rate", "metrics": {...}, "normalised": [...]}`` where ``normalised``
    lists the cell's metrics mapped to [0, 1] for pUII/pUIU (see ``metrics.SUMMARY_DOC``).
    """
    n = len(records)
    out: dict[str, Any] = {"n": n, "parse_rate": M.mean(float(r["parse_ok"]) for r in records)}
    scores = [r["scores"] for r in records]
    metrics: dict[str, float] = {}
    normalised: list[float] = []
    if task.answer == "attributes":
        metrics, normalised = _aggregate_attributes(scores)
    else:
        for metric in CELL_METRICS[task.answer]:
            metrics[metric.name] = metric.aggregate(scores)
            if metric.summary:
                normalised.append(metric.normalise(metrics[metric.name], scores))
    out["metrics"] = metrics
    out["normalised"] = normalised
    out["normalised_by_metric"] = _normalised_by_metric(task, metrics, normalised)
    out["stderr"] = metric_stderr(task, scores, metrics)
    out["higher_is_better"] = {k: not k.startswith("rmse") for k in metrics}
    return out


def _normalised_by_metric(task: Task, metrics: Mapping[str, float], normalised: Sequence[float]) -> dict[str, float]:
    """The normalised values keyed by the metric (column) they come from, for the paper summary."""
    names = [k for k in metrics if k != "mean_acc"] if task.answer == "attributes" else summary_metrics(task.answer)
    return dict(zip(names, normalised))


def _mean_stderr(values: Sequence[float]) -> float | None:
    n = len(values)
    if n < 2:
        return None
    m = math.fsum(values) / n
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1) / n)


def _rmse_stderr(errors: Sequence[float]) -> float | None:
    """Delta method: se(RMSE) = se(mean squared error) / (2 RMSE)."""
    sq = [e * e for e in errors]
    se = _mean_stderr(sq)
    r = math.sqrt(math.fsum(sq) / len(sq)) if sq else 0.0
    return None if se is None or r == 0 else se / (2 * r)


def metric_stderr(task: Task, scores: Sequence[Mapping[str, Any]], metrics: Mapping[str, float]) -> dict[str, float | None]:
    """Standard error of each metric over the cell's examples (as lm-eval reports): sample standard
    deviation / sqrt(n) for means, the delta method for RMSE; ``None`` for corpus BLEU (not a mean of
    per-example values) and for cells with fewer than two examples."""
    out: dict[str, float | None] = {}
    if task.answer == "rating":
        out["rmse"] = _rmse_stderr([s["abs_error"] for s in scores])
    elif task.answer in ("ranking", "choice"):
        for k in metrics:
            out[k] = _mean_stderr([float(s[k]) for s in scores])
    elif task.answer == "attributes":
        by_name: dict[str, list[dict[str, Any]]] = {}
        for s in scores:
            for name, v in s["attributes"].items():
                by_name.setdefault(name, []).append(v)
        accs = []
        for name, vals in by_name.items():
            if vals[0]["kind"] == "numeric":
                refs = [v["ref"] for v in vals]
                miss, lo, hi = M.numeric_miss_error(refs), min(refs), max(refs)
                out[f"rmse[{name}]"] = _rmse_stderr([miss if v["error"] is None else _clamped_error(v, lo, hi) for v in vals])
            else:
                out[f"acc[{name}]"] = _mean_stderr([float(v["correct"]) for v in vals])
                accs.append(name)
        if "mean_acc" in metrics:
            per_example = [M.mean(float(s["attributes"][n]["correct"]) for n in accs if n in s["attributes"]) for s in scores]
            out["mean_acc"] = _mean_stderr([v for v in per_example if not math.isnan(v)])
    else:
        for k in metrics:
            out[k] = None if k.startswith("bleu") else _mean_stderr([float(s[k]) for s in scores])
    return out


def rescore(task: Task, row: Mapping[str, Any], record: Mapping[str, Any], opts: ScoringOptions) -> dict[str, Any]:
    """``record`` with parsing and scores re-applied from its stored raw output under ``opts`` (the
    fuzzy threshold, BLEU tokenizer and ROUGE stemming may differ from the run that predicted it)."""
    out = dict(record)
    if record.get("mode") == "likelihood" or str(record.get("mode", "")).startswith("baseline:"):
        # no text to re-parse: the answer was chosen directly (log-likelihood, a model-free baseline)
        out["scores"] = score_parsed(task, row, record["parsed"], opts)
        return out
    parsed, ok, extra = parse_output(task, row, record.get("raw") or "", opts)
    out.update(parsed=parsed, parse_ok=bool(ok), scores=score_parsed(task, row, parsed, opts), **extra)
    return out


def _clamped_error(v: Mapping[str, Any], lo: float, hi: float) -> float:
    """A numeric attribute's error after clamping the prediction to the cell's reference range
    ``[lo, hi]``, so that a wrong answer (``age:1998``) never scores worse than a miss."""
    pred = v.get("pred")
    if pred is None:
        pred = v["ref"] + v["error"]
    return M.clamp(float(pred), lo, hi) - v["ref"]


def _aggregate_attributes(scores: Sequence[Mapping[str, Any]]) -> tuple[dict[str, float], list[float]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for s in scores:
        for name, v in s["attributes"].items():
            by_name.setdefault(name, []).append(v)
    metrics: dict[str, float] = {}
    normalised: list[float] = []
    accs: list[float] = []
    for name, vals in by_name.items():
        if vals[0]["kind"] == "numeric":
            refs = [v["ref"] for v in vals]
            miss = M.numeric_miss_error(refs)
            lo, hi = min(refs), max(refs)
            value = M.rmse(miss if v["error"] is None else _clamped_error(v, lo, hi) for v in vals)
            metrics[f"rmse[{name}]"] = value
            normalised.append(M.error_to_score(value, miss))
        else:
            value = M.mean(v["correct"] for v in vals)
            metrics[f"acc[{name}]"] = value
            accs.append(value)
            normalised.append(value)
    if accs:
        metrics["mean_acc"] = M.mean(accs)
    return metrics, normalised
