"""The one set of per-cell statistics a build reports: rows per split, the evaluation subset,
average lengths and reference provenance, beside the paper's numbers.

The console report, ``build_report.json`` and the card all show these, counted once by
:class:`Tally`. A build counts its own Parquet files (:func:`collect_cells`) after writing them, so
every figure describes exactly what is published; a re-card at publish time counts the same way.
Lengths are always counted in whitespace-separated words (no tokenizer needed); with a token
unit (``--card-tokenizer``, e.g. the paper's DeepSeek-V3) they are also counted in tokens, and the
card shows tokens when it has them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .matrix import PAPER_CELLS, paper_count
from .paper import PAPER_LENGTHS
from .splits import SPLITS

if TYPE_CHECKING:
    from .card import LengthUnit
    from .cells import Cell

WORDS_ONLY = "whitespace-separated words (no tokenizer was requested)"


@dataclass(frozen=True)
class CellStats:
    """One (subtask, source) cell."""

    subtask: str
    source: str
    splits: dict[str, int]
    eval_subset: int
    avg_input_words: float
    avg_output_words: float
    paper: int | None
    paper_input: float | None = None
    paper_output: float | None = None
    avg_input_tokens: float | None = None
    avg_output_tokens: float | None = None
    length_unit: str = WORDS_ONLY
    provenance: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.splits.values())

    @property
    def train(self) -> int:
        return self.splits.get("train", 0)

    @property
    def validation(self) -> int:
        return self.splits.get("validation", 0)

    @property
    def test(self) -> int:
        return self.splits.get("test", 0)

    @property
    def avg_input(self) -> float:
        """In the card's unit: tokens when counted, words otherwise."""
        return self.avg_input_words if self.avg_input_tokens is None else self.avg_input_tokens

    @property
    def avg_output(self) -> float:
        return self.avg_output_words if self.avg_output_tokens is None else self.avg_output_tokens

    def as_report(self) -> dict[str, Any]:
        """The ``build_report.json`` entry (tokens rounded to 2 decimals)."""
        return {
            "subtask": self.subtask, "source": self.source, **{s: self.splits.get(s, 0) for s in SPLITS},
            "eval_subset": self.eval_subset, "avg_input_words": self.avg_input_words,
            "avg_output_words": self.avg_output_words, "paper": self.paper,
            "avg_input_tokens": None if self.avg_input_tokens is None else round(self.avg_input_tokens, 2),
            "avg_output_tokens": None if self.avg_output_tokens is None else round(self.avg_output_tokens, 2),
            "length_unit": self.length_unit, "provenance": dict(self.provenance), "total": self.total,
        }


def _count_words(texts: Sequence[str]) -> list[int]:
    return [len(t.split()) for t in texts]


class Tally:
    """Accumulates rows, a batch at a time (token counters are fastest on whole batches)."""

    def __init__(self, unit: LengthUnit | None = None, provenance_tasks: Iterable[str] = ()) -> None:
        self.unit = unit
        self.tokens = unit is not None and unit.name == "tokens"
        self.provenance_tasks = set(provenance_tasks)
        self._cells: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, split: str, tasks: Sequence[str], sources: Sequence[str], inputs: Sequence[str], outputs: Sequence[str],
            evals: Sequence[bool], provenance: Sequence[str | None] | None = None) -> None:
        words_in, words_out = _count_words(inputs), _count_words(outputs)
        tok_in = self.unit.count(list(inputs)) if self.tokens else None
        tok_out = self.unit.count(list(outputs)) if self.tokens else None
        for i, key in enumerate(zip(tasks, sources, strict=True)):
            t = self._cells.setdefault(key, {"splits": Counter(), "eval": 0, "w": [0, 0], "t": [0, 0], "prov": Counter()})
            t["splits"][split] += 1
            t["eval"] += bool(evals[i])
            t["w"][0] += words_in[i]
            t["w"][1] += words_out[i]
            if tok_in is not None:
                t["t"][0] += tok_in[i]
                t["t"][1] += tok_out[i]
            if provenance is not None and key[0] in self.provenance_tasks:
                t["prov"][provenance[i] or "(missing)"] += 1

    def cells(self) -> list[CellStats]:
        """Every cell, in the paper's subtask order, then by source."""
        description = self.unit.description if self.unit is not None else WORDS_ONLY
        out = []
        for (task, source), t in self._cells.items():
            n = max(sum(t["splits"].values()), 1)
            paper_in, paper_out = PAPER_LENGTHS.get((task, source), (None, None))
            out.append(CellStats(
                subtask=task, source=source, splits={s: t["splits"].get(s, 0) for s in SPLITS}, eval_subset=t["eval"],
                avg_input_words=t["w"][0] / n, avg_output_words=t["w"][1] / n, paper=paper_count(task, source),
                paper_input=paper_in, paper_output=paper_out,
                avg_input_tokens=t["t"][0] / n if self.tokens else None,
                avg_output_tokens=t["t"][1] / n if self.tokens else None,
                length_unit=description, provenance=dict(sorted(t["prov"].items())),
            ))
        order = {name: i for i, name in enumerate(PAPER_CELLS)}
        return sorted(out, key=lambda c: (order.get(c.subtask, len(order)), c.source))


def collect_cells(folder: Path, configs: Iterable[str], unit: LengthUnit | None,
                  data_files: Callable[[Path, str], dict[str, list[Path]]], provenance_tasks: Iterable[str] = ()) -> list[CellStats]:
    """Count every cell of the subtask configs (``all`` repeats them) from the folder's Parquet files."""
    import pyarrow.parquet as pq

    tally = Tally(unit, provenance_tasks)
    for config in configs:
        if config == "all":
            continue
        for split, paths in data_files(folder, config).items():
            for path in paths:
                table = pq.read_table(path)
                cols = {c: table.column(c).to_pylist() for c in ("task", "source", "input", "output", "eval_subset")}
                prov = table.column("reference_provenance").to_pylist() if "reference_provenance" in table.column_names else None
                tally.add(split, cols["task"], cols["source"], cols["input"], cols["output"], cols["eval_subset"], prov)
    return tally.cells()


def cell_stats(cell: Cell, unit: LengthUnit | None = None) -> CellStats:
    """One in-memory cell's statistics, counted as a build counts its files (tests, quick checks)."""
    tally = Tally(unit)
    for split in SPLITS:
        rows = cell.rows[split]
        tally.add(split, [cell.subtask] * len(rows), [cell.source] * len(rows), [r["input"] for r in rows],
                  [r["output"] for r in rows], [r["eval_subset"] for r in rows])
    found = tally.cells()
    return found[0] if found else CellStats(cell.subtask, cell.source, dict.fromkeys(SPLITS, 0), 0, 0.0, 0.0,
                                            paper_count(cell.subtask, cell.source))
