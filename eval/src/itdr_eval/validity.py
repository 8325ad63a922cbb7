"""Output validity per cell (issue 12): how often the answers were not well-formed, and why.

Invalid answers stay in every metric's denominator (scored as misses); this report says how much
of a score is lost to form rather than to ranking skill (RecLM-eval's error rates, LLaRA's valid
ratio). One row can have several problems. Categories:

* ``unparseable`` - no answer could be read at all (RP: no number; TKR/CDR: no line; NIR: empty;
  UAP: none of the attributes; IR/TUI: empty text).
* ``hallucinated`` - an answered title matches no candidate (TKR/CDR: at least one such line;
  NIR: a non-empty answer that matches no candidate).
* ``duplicate`` - a candidate appears more than once in a ranking.
* ``copied_from_history`` - an answered title that is not a candidate but one of the items of the
  user's history shown in the prompt.
* ``incomplete`` - a ranking that does not contain every candidate; UAP: some attributes missing.
* ``cut_off`` - generation stopped at the ``--max-new-tokens`` budget without an end-of-turn.

``valid`` = the fraction of rows with none of these. Likelihood, constrained and baseline answers
are checked the same way from their parsed answers (they are valid by construction, which the
report then shows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .parsing import CandidateMatcher, _norm_title, _split_items
from .tasks import Task

CATEGORIES = ("unparseable", "hallucinated", "duplicate", "copied_from_history", "incomplete", "cut_off")
_RATING_SUFFIX = re.compile(r"\s*\(\d+(?:\.\d+)?\)\s*$")


def history_titles(row: Mapping[str, Any]) -> set[str]:
    """Normalised titles of the history lines shown before the candidate list (rating/genre suffixes dropped)."""
    text = str(row.get("input", ""))
    cut = text.lower().rfind("candidates")
    head = text[:cut] if cut >= 0 else text
    pieces: list[str] = []
    for line in head.splitlines():
        for part in (line, line.split(": ", 1)[1] if ": " in line else ""):  # "History: A, B" -> "A, B"
            pieces.append(part)
            pieces += part.split(", ")
    out: set[str] = set()
    for piece in pieces:
        piece = _RATING_SUFFIX.sub("", piece.strip().rstrip("."))
        out.add(_norm_title(piece))
        if ":" in piece:  # "Title:Genre|Genre"
            out.add(_norm_title(piece.rsplit(":", 1)[0]))
    out.discard("")
    return out


def record_validity(task: Task, row: Mapping[str, Any], rec: Mapping[str, Any], threshold: float = 85.0) -> dict[str, bool]:
    """Which problems one answer has (see the module docstring)."""
    flags = dict.fromkeys(CATEGORIES, False)
    flags["cut_off"] = bool(rec.get("cut_off", False))
    generated = rec.get("mode") in ("generate", "constrained")
    raw = rec.get("raw") if isinstance(rec.get("raw"), str) else ""
    if task.answer in ("ranking", "choice"):
        cands = list(row["candidates"])
        if generated:
            lines = _split_items(raw)
            if task.answer == "choice":
                lines = lines[:1]
        else:
            parsed = rec.get("parsed")
            lines = [] if parsed is None else ([parsed] if isinstance(parsed, str) else [p for p in parsed if p is not None])
        matcher = CandidateMatcher(cands, threshold)
        matched = [matcher.match(x) for x in lines]
        if task.answer == "choice" and generated:
            matched = [rec.get("parsed")] if lines else []  # parse_choice also searches the whole text
        unmatched = [x for x, m in zip(lines, matched) if m is None]
        flags["unparseable"] = not lines
        flags["hallucinated"] = bool(unmatched)
        hist = history_titles(row) if unmatched else set()
        flags["copied_from_history"] = any(_norm_title(x) in hist for x in unmatched)
        hits = [m for m in matched if m is not None]
        flags["duplicate"] = len(hits) != len(set(hits))
        if task.answer == "ranking":
            flags["incomplete"] = bool(lines) and not set(cands) <= set(hits)
    elif task.answer == "attributes":
        parsed = rec.get("parsed") or {}
        names = [a["name"] for a in row["attributes"]]
        found = [n for n in names if n in parsed]
        flags["unparseable"] = not found
        flags["incomplete"] = bool(found) and len(found) < len(names)
    elif task.answer == "rating":
        flags["unparseable"] = rec.get("parsed") is None
    else:
        flags["unparseable"] = not str(rec.get("parsed") or "").strip()
    return flags


def cell_validity(task: Task, rows: Sequence[Mapping[str, Any]], records: Mapping[str, Mapping[str, Any]],
                  threshold: float = 85.0) -> dict[str, Any]:
    """Rates (fraction of the cell's rows) of each problem, and of rows with none."""
    flags = [record_validity(task, r, records[r["id"]], threshold) for r in rows if r["id"] in records]
    n = len(flags)
    out: dict[str, Any] = {"n": n}
    for k in CATEGORIES:
        out[k] = sum(f[k] for f in flags) / n if n else float("nan")
    out["valid"] = sum(not any(f.values()) for f in flags) / n if n else float("nan")
    return out


def render_markdown(cells: Sequence[Mapping[str, Any]]) -> str:
    cells = [c for c in cells if c.get("validity")]
    if not cells:
        return ""
    from .baselines import _f

    lines = ["## Output validity", "",
             ("Fraction of each cell's rows with each problem (a row can have several); invalid answers "
             "stay in every metric's denominator as misses."), "",
             "| subtask | source | n | valid | " + " | ".join(c.replace("_", " ") for c in CATEGORIES) + " |",
             "|---" * (4 + len(CATEGORIES)) + "|"]
    for c in cells:
        v = c["validity"]
        lines.append(f"| {c['abbr']} | {c['source']} | {v['n']} | {_f(v['valid'])} | "
                     + " | ".join(_f(v[k]) for k in CATEGORIES) + " |")
    return "\n".join(lines) + "\n"
