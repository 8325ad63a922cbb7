"""Per-cell statistics of a build, beside the paper's numbers.

Lengths are counted in whitespace-separated words, which needs no tokenizer download; the
dataset card names the unit. (The paper counted DeepSeek-V3 tokens, roughly 1.3× words for
English.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .cells import Cell
from .matrix import paper_count
from .splits import SPLITS


@dataclass(frozen=True)
class CellStats:
    subtask: str
    source: str
    train: int
    validation: int
    test: int
    eval_subset: int
    avg_input_words: float
    avg_output_words: float
    paper: int | None

    @property
    def total(self) -> int:
        return self.train + self.validation + self.test


def cell_stats(cell: Cell) -> CellStats:
    rows = [row for split in SPLITS for row in cell.rows[split]]
    n = max(len(rows), 1)
    return CellStats(
        subtask=cell.subtask,
        source=cell.source,
        train=len(cell.rows["train"]),
        validation=len(cell.rows["validation"]),
        test=len(cell.rows["test"]),
        eval_subset=sum(r["eval_subset"] for r in cell.rows["test"]),
        avg_input_words=sum(len(r["input"].split()) for r in rows) / n,
        avg_output_words=sum(len(r["output"].split()) for r in rows) / n,
        paper=paper_count(cell.subtask, cell.source),
    )


def as_json(
    stats: list[CellStats], skipped: list[tuple[str, str, str]], skipped_lines: list[dict] = (), sources: dict | None = None,
) -> dict:
    return {
        "sources": dict(sources or {}),
        "skipped_lines": list(skipped_lines),
        "cells": [{**asdict(s), "total": s.total} for s in stats],
        "skipped": [{"subtask": t, "source": s, "reason": r} for t, s, r in skipped],
        "total": sum(s.total for s in stats),
    }


def as_table(
    stats: list[CellStats], skipped: list[tuple[str, str, str]], skipped_lines: list[dict] = (), sources: dict | None = None,
) -> str:
    header = f"{'subtask':<28} {'source':<16} {'train':>6} {'val':>5} {'test':>5} {'eval':>5} {'total':>6} {'paper':>6} {'in w':>6} {'out w':>6}"
    lines = [header, "-" * len(header)]
    for s in stats:
        paper = "" if s.paper is None else str(s.paper)
        lines.append(
            f"{s.subtask:<28} {s.source:<16} {s.train:>6} {s.validation:>5} {s.test:>5} {s.eval_subset:>5} "
            f"{s.total:>6} {paper:>6} {s.avg_input_words:>6.0f} {s.avg_output_words:>6.1f}"
        )
    lines.append(f"{'total':<45} {sum(s.total for s in stats):>28}")
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
        for file, effect in info["absent_optional_files"].items():
            lines.append(f"{name}: optional {file} absent or empty: {effect}")
    return "\n".join(lines)
