"""The build's report: the per-cell statistics (:mod:`itdr_hf.cellstats`) beside the paper's
numbers, printed as a table and written to ``build_report.json`` with what was skipped and why."""

from __future__ import annotations

from .cellstats import WORDS_ONLY, CellStats, cell_stats

__all__ = ["CellStats", "as_json", "as_table", "cell_stats"]


def as_json(
    stats: list[CellStats], skipped: list[tuple[str, str, str]], skipped_lines: list[dict] = (), sources: dict | None = None,
) -> dict:
    return {
        "sources": dict(sources or {}),
        "skipped_lines": list(skipped_lines),
        "cells": [s.as_report() for s in stats],
        "skipped": [{"subtask": t, "source": s, "reason": r} for t, s, r in skipped],
        "total": sum(s.total for s in stats),
    }


def as_table(
    stats: list[CellStats], skipped: list[tuple[str, str, str]], skipped_lines: list[dict] = (), sources: dict | None = None,
) -> str:
    from .card import PAPER_LENGTHS

    tokens = any(s.avg_input_tokens is not None for s in stats)
    header = (
        f"{'subtask':<28} {'source':<16} {'train':>6} {'val':>5} {'test':>5} {'eval':>5} {'total':>6} {'paper':>6} "
        f"{'in w':>6} {'out w':>6}"
    )
    if tokens:
        header += f" {'in tok':>7} {'paper':>6} {'out tok':>7} {'paper':>6}"
    lines = [header, "-" * len(header)]
    for s in stats:
        paper = "" if s.paper is None else str(s.paper)
        line = (
            f"{s.subtask:<28} {s.source:<16} {s.train:>6} {s.validation:>5} {s.test:>5} {s.eval_subset:>5} "
            f"{s.total:>6} {paper:>6} {s.avg_input_words:>6.0f} {s.avg_output_words:>6.1f}"
        )
        if tokens:
            p_in, p_out = PAPER_LENGTHS.get((s.subtask, s.source), (None, None))
            line += f" {s.avg_input_tokens:>7.1f} {_num(p_in):>6} {s.avg_output_tokens:>7.1f} {_num(p_out):>6}"
        lines.append(line)
    lines.append(f"{'total':<45} {sum(s.total for s in stats):>28}")
    if stats and any(s.length_unit != WORDS_ONLY for s in stats):
        lines.append(f"lengths: words, and {stats[0].length_unit}" if tokens else f"lengths: {stats[0].length_unit}")
    from .pipeline import skip_reasons

    lines.extend(f"skipped {line}" for line in skip_reasons(skipped))
    for info in skipped_lines:
        if "note" in info:  # what a reader decided about a file (its encoding, its version)
            lines.append(f"note: {info['file']}: {info['note']}")
            continue
        what = info.get("reason", "skipped")  # dropped or degraded rows, counted per reason
        lines.append(f"{what}: {info['skipped']} of {info['read']} lines in {info['file']} (first: {info['examples'][0]})"
                     if "reason" in info else
                     f"skipped {info['skipped']} of {info['read']} lines in {info['file']} (first: {info['examples'][0]})")
    for name, info in (sources or {}).items():
        if info["unknown_item_rows"]:
            lines.append(
                f"skipped {info['unknown_item_rows']} of {info['interactions']} {name} interactions whose item is not in "
                f"the item file (first: {', '.join(info['unknown_item_examples'])})"
            )
        if "dropped_early" in info:
            dropped = info["dropped_early"]
            lines.append(f"{name}: dropped {dropped['rows']} of {info['interactions']} interactions at read time: "
                         f"{dropped['reason']}")
        for file, effect in info["absent_optional_files"].items():
            lines.append(f"{name}: optional {file} absent or empty: {effect}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
