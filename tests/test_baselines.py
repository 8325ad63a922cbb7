"""The card's popularity baseline per cell (issue 12, itdr_hf/baselines.py)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from itdr_hf.baselines import popularity_cells


def _write(folder, config, split, rows):
    (folder / config).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / config / f"{split}-00000-of-00001.parquet")


def _row(source, item, cands, ids, positives, eval_subset=True):
    return {"source": source, "item_id": item, "candidates": cands, "candidate_ids": ids,
            "positives": positives, "eval_subset": eval_subset}


def test_popularity_ranks_by_train_counts_of_the_same_source(tmp_path):
    cands, ids = ["A", "B", "C", "D", "E"], ["a", "b", "c", "d", "e"]
    # train: item 'd' is the target of 3 rows of source s; 'b' is popular only in another source
    _write(tmp_path, "rating_prediction", "train",
           [{"source": "s", "item_id": "d"}] * 3 + [{"source": "t", "item_id": "b"}] * 9)
    _write(tmp_path, "next_item_recommendation", "train", [_row("s", "d", cands, ids, ["D"])])
    _write(tmp_path, "next_item_recommendation", "test",
           [_row("s", "d", cands, ids, ["D"]), _row("s", "b", cands, ids, ["B"]), _row("s", "b", cands, ids, ["B"], False)])
    [cell] = popularity_cells(tmp_path, ["rating_prediction", "next_item_recommendation", "all"])
    assert (cell.subtask, cell.source, cell.rows, cell.metric) == ("next_item_recommendation", "s", 2, "Hit@1")
    assert cell.popularity == 0.5 and cell.chance == pytest.approx(0.2)


def test_demo_card_shows_the_block(demo_build):
    text = (demo_build / "README.md").read_text()
    assert "### How hard the candidate lists are" in text and "Negatives in this build are drawn **uniform**" in text
    cells = popularity_cells(demo_build, ["rating_prediction", "top_k_recommendation", "next_item_recommendation"])
    assert {c.subtask for c in cells} == {"top_k_recommendation", "next_item_recommendation"}
    for c in cells:
        assert f"| `{c.subtask}` | `{c.source}` | {c.rows} | {c.metric} | {c.popularity:.3f} | {c.chance:.3f} |" in text
