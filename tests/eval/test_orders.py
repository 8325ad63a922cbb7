"""Candidate-order robustness (issue 12): permutations rewrite only the prompt's order, and a
model that always answers the first candidate shows pure position bias."""

import json
import os
from pathlib import Path

import pytest
from itdr_eval.baselines import Baseline, TrainStats
from itdr_eval.cli import main
from itdr_eval.orders import order_report, permute_row, permuted_rows
from itdr_eval.scoring import ScoringOptions
from itdr_eval.tasks import get_task
from itdr_eval_testutils import make_rows

FAST_TOKENS = ["--max-new-tokens", "nir=4"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _rows(config, n):
    rows = []
    for i in range(n):
        base = make_rows(config, "test")[0]
        rows.append({**base, "id": f"{base['id']}-{i}"})
    return rows


def test_permutation_rewrites_the_prompt_order_and_keeps_gold():
    row = make_rows("top_k_recommendation", "test")[0]
    perm = list(reversed(range(10)))
    new = permute_row(row, perm, 3)
    assert new["candidates"] == list(reversed(row["candidates"]))
    assert new["candidate_ids"] == list(reversed(row["candidate_ids"]))
    assert new["positives"] == row["positives"] and new["id"].endswith("#order3")
    listed = [ln.split(". ", 1)[1] for ln in new["input"].split("Candidates:\n")[1].splitlines()]
    assert listed == new["candidates"]
    assert new["messages"][0]["content"].endswith(new["input"])
    nir = make_rows("next_item_recommendation", "test")[0]  # comma-separated list
    new = permute_row(nir, [4, 3, 2, 1, 0], 0)
    assert new["input"].endswith(", ".join(reversed(nir["candidates"])))
    with pytest.raises(ValueError, match="not all found, in order"):
        permute_row({**row, "input": "no list here"}, perm, 0)


def test_title_category_entries_move_whole_and_a_question_naming_candidates_is_not_the_list():
    """The builder's NIR form: ``k. title:category`` lines, then a question that says "candidates"."""
    cands = ["Holiday, The (2006)", "Bogus (1996)", "Heat (1995)"]
    text = ("History:\n1. Heat (1995):Action|Crime\nCandidates:\n1. Holiday, The (2006):Comedy|Romance\n"
            "2. Bogus (1996):Children|Drama\n3. Heat (1995):Action|Crime\n"
            "Based on this history, please select the movie the user will choose next from the 3 candidates.")
    row = {"id": "r", "input": text, "candidates": cands, "positives": ["Heat (1995)"], "messages": []}
    new = permute_row(row, [2, 0, 1], 0)
    assert new["input"].split("Candidates:\n")[1].splitlines()[:3] == [
        "1. Heat (1995):Action|Crime", "2. Holiday, The (2006):Comedy|Romance", "3. Bogus (1996):Children|Drama"]
    assert new["input"].startswith("History:\n1. Heat (1995):Action|Crime\n")  # the history is untouched
    assert new["input"].endswith("from the 3 candidates.")


def test_permutation_finds_the_list_when_candidates_is_mentioned_after_it():
    """Regression (issue 13): the real MovieLens TKR prompt ends '... please rank all 10 candidates ...';
    the last mention of 'candidates' was taken as the list's heading and every real row was refused."""
    row = make_rows("top_k_recommendation", "test")[0]
    tail = "\nBased on this history, please rank all 10 candidates by how likely the user is to interact next."
    real = {**row, "input": row["input"] + tail,
            "messages": [{**row["messages"][0], "content": row["messages"][0]["content"] + tail}, row["messages"][1]]}
    new = permute_row(real, list(reversed(range(10))), 0)
    listed = [ln.split(". ", 1)[1] for ln in new["input"].split("Candidates:\n")[1].split(tail)[0].splitlines()]
    assert listed == list(reversed(row["candidates"])) and new["input"].endswith(tail)


@pytest.mark.parametrize("config", ["top_k_recommendation", "next_item_recommendation"])
def test_first_candidate_model_is_perfect_at_position_1_and_chance_elsewhere(config):
    task = get_task(config)
    rows = _rows(config, 300)
    first = Baseline("first", TrainStats())
    recs = {r["id"]: first.record(task, r, ScoringOptions()) for r in permuted_rows(rows, 5, seed=0)}
    rep = order_report(task, rows, recs, 5, seed=0)
    assert rep["orders"] == 5
    table = {r["position"]: r for r in rep["position_bias"]}
    assert table[1]["hit@1"] == 1.0
    n, m = len(rows[0]["candidates"]), len(rows[0]["positives"])
    elsewhere = (m - 1) / (n - 1)  # Hit@1 given a positive at p > 1: the first candidate is one of the other m-1
    for p in range(2, n + 1):
        assert table[p]["hit@1"] == pytest.approx(elsewhere, abs=0.08), (p, table[p])
        assert table[p]["chance"] == pytest.approx(m / n)
    # over orders the first-candidate model scores chance on average
    assert rep["metrics"]["hit@1"]["mean"] == pytest.approx(m / n, abs=0.05)


def test_cli_candidate_orders_with_a_baseline_and_a_tiny_model(dataset_dir, tiny_model, tmp_path):
    out = str(tmp_path / "first")
    assert main(["--model", "baseline:first", "--dataset", dataset_dir, "--tasks", "tkr,nir", "--output", out,
                 "--candidate-orders", "5", "--no-chart", "--bootstrap-resamples", "0"]) == 0
    res = json.loads(Path(os.path.join(out, "results.json")).read_text())
    for c in res["cells"]:
        o = c["candidate_orders"]
        assert o["orders"] == 5 and o["position_bias"][0]["position"] == 1
        assert o["position_bias"][0]["hit@1"] == 1.0
    assert "## Candidate-order robustness" in Path(os.path.join(out, "results.md")).read_text()
    out = str(tmp_path / "tiny")
    args = ["--model", tiny_model, "--finetune", "none", "--dataset", dataset_dir, "--tasks", "nir", "--output", out,
            "--no-chart", *FAST_TOKENS]
    assert main(args) == 0
    # a --resume rerun with orders finds every prediction done but still loads the model for the permuted rows
    assert main([*args, "--candidate-orders", "2", "--resume"]) == 0
    lines = [json.loads(x) for x in Path(os.path.join(out, "candidate_orders.jsonl")).read_text().splitlines()]
    assert len(lines) == 2 * len([r for r in make_rows("next_item_recommendation", "test") if r["eval_subset"]])
    res = json.loads(Path(os.path.join(out, "results.json")).read_text())
    assert res["cells"][0]["candidate_orders"]["orders"] == 2
