"""Output validity categories (issue 12)."""

import json
import os
from pathlib import Path

import pytest
from itdr_eval.cli import main
from itdr_eval.scoring import ScoringOptions, record_from_text
from itdr_eval.tasks import get_task
from itdr_eval.validity import (
    CATEGORIES,
    cell_validity,
    history_titles,
    record_validity,
)
from itdr_eval_testutils import make_rows

TKR = get_task("tkr")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _flags(task, row, text, **extra):
    rec = {**record_from_text(task, row, text, ScoringOptions()), **extra}
    return {k for k, v in record_validity(task, row, rec).items() if v}


def test_each_ranking_problem_is_named():
    row = make_rows("top_k_recommendation", "test")[0]
    cands = row["candidates"]
    full = "\n".join(f"{i + 1}. {c}" for i, c in enumerate(cands))
    assert _flags(TKR, row, full) == set()
    assert _flags(TKR, row, "") == {"unparseable"}
    assert _flags(TKR, row, full + "\n11. Totally Unknown Film") == {"hallucinated"}
    assert _flags(TKR, row, full + "\n11. " + cands[0]) == {"duplicate"}
    assert _flags(TKR, row, "\n".join(f"{i + 1}. {c}" for i, c in enumerate(cands[:4]))) == {"incomplete"}
    assert "Movie Lima" in row["input"].split("Candidates")[0] and "Movie Lima" not in cands
    assert _flags(TKR, row, full + "\n11. Movie Lima") == {"hallucinated", "copied_from_history"}
    assert _flags(TKR, row, full, cut_off=True) == {"cut_off"}


def test_choice_rating_attribute_problems():
    nir = get_task("nir")
    row = make_rows("next_item_recommendation", "test")[0]
    assert _flags(nir, row, row["candidates"][1]) == set()
    assert _flags(nir, row, "") == {"unparseable"}
    assert _flags(nir, row, "Something Else Entirely") == {"hallucinated"}
    assert "movie lima" in history_titles(row)
    rp = get_task("rp")
    rrow = make_rows("rating_prediction", "test")[0]
    assert _flags(rp, rrow, "no idea") == {"unparseable"} and _flags(rp, rrow, "4") == set()
    uap = get_task("uap")
    urow = make_rows("user_attribute_prediction", "test")[0]
    assert _flags(uap, urow, "gender:M") == {"incomplete"} and _flags(uap, urow, "gender:M, age:25") == set()
    assert _flags(uap, urow, "hello") == {"unparseable"}


def test_cell_rates_and_results(dataset_dir, tiny_model, tmp_path):
    row = make_rows("top_k_recommendation", "test")[0]
    recs = {row["id"]: record_from_text(TKR, row, "", ScoringOptions())}
    v = cell_validity(TKR, [row], recs)
    assert v["unparseable"] == 1.0 and v["valid"] == 0.0 and v["n"] == 1
    out = str(tmp_path / "run")
    assert main(["--model", tiny_model, "--finetune", "none", "--dataset", dataset_dir, "--tasks", "tkr,nir",
                 "--output", out, "--no-chart", "--max-new-tokens", "tkr=3,nir=3", "--bootstrap-resamples", "0"]) == 0
    res = json.loads(Path(os.path.join(out, "results.json")).read_text())
    for c in res["cells"]:
        assert set(CATEGORIES) | {"valid", "n"} == set(c["validity"])
    recs = [json.loads(x) for x in Path(os.path.join(out, "predictions.jsonl")).read_text().splitlines()]
    # a random model with a 3-token budget runs out of tokens on (nearly) every row
    assert all("cut_off" in r for r in recs) and sum(r["cut_off"] for r in recs) >= len(recs) - 1
    assert "## Output validity" in Path(os.path.join(out, "results.md")).read_text()
