"""How hard are a build's candidate lists? The popularity baseline per cell, for the card (issue 12).

With uniform negatives most negatives are obscure items, so ranking the candidates by how often
they occur in the train split (no model at all) beats chance by far; popularity-weighted negatives
(``--negative-sampling popularity``) close that gap. The card shows, per TKR/CDR/NIR cell, the
popularity baseline and the chance level on the evaluation subset, so a user sees what a score
must beat under the build's negative sampling. The rule is the one ``itdr-eval --baselines`` uses
(``itdr_eval.baselines``): an item's count = the train rows of the same source, over every
interaction config, that have it as target item or as a positive; ties keep the prompt's order.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

INTERACTION_CONFIGS = ("rating_prediction", "top_k_recommendation", "cross_domain_recommendation",
                       "next_item_recommendation")
RANKED_CONFIGS = ("top_k_recommendation", "cross_domain_recommendation", "next_item_recommendation")


@dataclass(frozen=True)
class PopularityCell:
    subtask: str
    source: str
    rows: int
    metric: str
    popularity: float
    chance: float


def _read(folder: Path, config: str, split: str, columns: tuple[str, ...]) -> list[dict]:
    """The rows of one split, with only those of ``columns`` the files have: not the prompts, which
    are most of the bytes (0.2 s of a MovieLens 32M build's card went to reading them as Python strings)."""
    import pyarrow.parquet as pq

    rows: list[dict] = []
    for path in sorted((folder / config).glob(f"{split}-*.parquet")):
        present = set(pq.read_schema(path).names)
        rows += pq.read_table(path, columns=[c for c in columns if c in present]).to_pylist()
    return rows


def _counts(folder: Path, configs: Iterable[str]) -> dict[str, Counter]:
    counts: dict[str, Counter] = {}
    for config in configs:
        if config not in INTERACTION_CONFIGS:
            continue
        for row in _read(folder, config, "train", ("source", "item_id", "candidates", "candidate_ids", "positives")):
            by_title = dict(zip(row.get("candidates") or [], row.get("candidate_ids") or []))
            items = {row.get("item_id") or ""} | {by_title.get(p, "") for p in row.get("positives") or []}
            counts.setdefault(row["source"], Counter()).update(i for i in items if i)
    return counts


def popularity_cells(folder: str | Path, configs: Iterable[str]) -> list[PopularityCell]:
    """P@5 (TKR, CDR) or Hit@1 (NIR) of the popularity ranking on each cell's evaluation subset."""
    folder = Path(folder)
    configs = [c for c in configs if c != "all"]
    counts = _counts(folder, configs)
    out: list[PopularityCell] = []
    for config in (c for c in RANKED_CONFIGS if c in configs):
        by_source: dict[str, list[tuple[float, float]]] = {}
        for row in _read(folder, config, "test", ("source", "eval_subset", "candidates", "candidate_ids", "positives")):
            if not row.get("eval_subset"):
                continue
            cands, ids = list(row["candidates"]), list(row["candidate_ids"])
            pos = set(row["positives"])
            c = counts.get(row["source"], Counter())
            order = sorted(range(len(cands)), key=lambda i: -c.get(ids[i], 0))
            k = 1 if config == "next_item_recommendation" else 5
            hits = sum(cands[i] in pos for i in order[:k]) / k
            chance = min(k, len(cands)) * len(pos & set(cands)) / len(cands) / k
            by_source.setdefault(row["source"], []).append((hits, chance))
        for source, vals in sorted(by_source.items()):
            out.append(PopularityCell(config, source, len(vals), "Hit@1" if config == "next_item_recommendation" else "P@5",
                                      math.fsum(v[0] for v in vals) / len(vals), math.fsum(v[1] for v in vals) / len(vals)))
    return out
