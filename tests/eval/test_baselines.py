"""Model-free baselines (issue 12): chance level exact and simulated, popularity from the train
split, RP means, and the CLI paths (--baselines, --model baseline:NAME)."""

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from itdr_eval.baselines import (
    Baseline,
    TrainStats,
    expected_random,
    load_train_stats,
    simulate_random,
    stats_configs,
    user_history_mean,
)
from itdr_eval.cli import main
from itdr_eval.data import load_split, select_rows
from itdr_eval.tasks import get_task, parse_task_list


@pytest.fixture(scope="module")
def real_build(ml_small, tmp_path_factory):
    pytest.importorskip("itdr_hf")
    from itdr_hf import build_dataset
    from itdr_hf.config import BuildConfig
    from itdr_hf.pipeline import Selection

    out = tmp_path_factory.mktemp("real") / "itdr"
    build_dataset(out, Selection(sources=("movielens_32m",), data_dir=str(ml_small), strict=True), BuildConfig())
    return str(out)


@pytest.mark.parametrize("abbr", ["rp", "tkr", "nir"])
def test_random_expectation_matches_a_20000_draw_simulation_on_the_real_build(real_build, abbr):
    task = get_task(abbr)
    rows = select_rows(load_split(real_build, task.name, "test"), "eval", None)
    assert len(rows) > 50
    exact = expected_random(task, rows)
    sim = simulate_random(task, rows, 20_000, seed=7)
    assert exact and set(exact) == set(sim)
    for k in exact:
        assert abs(exact[k] - sim[k]) < 0.005, (k, exact[k], sim[k])
    if abbr == "tkr":  # 5 positives among 10 candidates
        assert exact["hit@1"] == pytest.approx(0.5) and exact["p@5"] == pytest.approx(0.5)
        assert exact["ndcg@10"] == pytest.approx(0.7706, abs=1e-3)
    if abbr == "nir":
        assert exact["hit@1"] == pytest.approx(0.2)


def test_cli_baselines_print_every_movielens_cell_and_popularity_beats_chance(real_build, tmp_path, capsys):
    out = str(tmp_path / "b")
    assert main(["--baselines", "--dataset", real_build, "--output", out, "--tasks", "rp,tkr,nir,tui", "--bootstrap-resamples", "0"]) == 0
    printed = capsys.readouterr().out
    res = json.loads(Path(os.path.join(out, "results.json")).read_text())
    got = {(c["abbr"], c["baseline"]) for c in res["baselines"]}
    for abbr, names in {"RP": ("random", "global_mean", "user_mean", "item_mean"),
                        "TKR": ("random", "first", "popularity"), "NIR": ("random", "first", "popularity"),
                        "TUI": ("medoid",)}.items():
        for name in names:
            assert (abbr, name) in got, (abbr, name)
    assert "| movielens_32m |" in printed and "popularity" in printed and "E 0.5000" in printed
    by = {(c["abbr"], c["baseline"]): c for c in res["baselines"]}
    assert by[("TKR", "popularity")]["metrics"]["p@5"] > by[("TKR", "random")]["expected"]["p@5"] + 0.1
    assert by[("NIR", "popularity")]["metrics"]["hit@1"] > 0.3
    assert by[("RP", "user_mean")]["metrics"]["rmse"] < by[("RP", "random")]["expected"]["rmse"]
    assert res["cells"] == []
    assert "## Baselines on the same rows" in Path(os.path.join(out, "results.md")).read_text()


def test_popularity_ranks_by_train_counts_ties_in_prompt_order():
    stats = TrainStats(item_counts={"s": Counter({"c2": 5, "c0": 2})})
    row = {"id": "x", "source": "s", "candidates": ["A", "B", "C", "D"], "candidate_ids": ["c0", "c1", "c2", "c3"],
           "positives": ["C"]}
    b = Baseline("popularity", stats)
    assert b.predict(get_task("tkr"), row) == ["C", "A", "B", "D"]
    assert b.predict(get_task("nir"), row) == "C"


def test_train_stats_count_targets_and_positives_of_every_interaction_config(dataset_dir):
    stats = load_train_stats(dataset_dir, None, stats_configs(parse_task_list("tkr")))
    rows = load_split(dataset_dir, "top_k_recommendation", "train").to_list()
    ml = [r for r in rows if r["source"] == "movielens_32m"]
    # every movielens TKR train row adds its 5 positives (ids c*) and its target item
    assert sum(v for k, v in stats.item_counts["movielens_32m"].items() if k.startswith("c")) >= 5 * len(ml)
    assert stats.ratings["movielens_32m"]  # RP train ratings of the same source


def test_rating_means():
    row = {"id": "r", "source": "s", "rating_min": 0.5, "rating_max": 5.0, "item_id": "i1",
           "input": "History:\nA (2001) (4.0)\nB (1999) (2.0)\nTarget: C (2005)"}
    assert user_history_mean(row) == 3.0
    stats = TrainStats(ratings={"s": [1.0, 2.0]}, item_ratings={"s": {"i1": [5.0]}})
    rp = get_task("rp")
    assert Baseline("global_mean", stats).predict(rp, row) == 1.5
    assert Baseline("user_mean", stats).predict(rp, row) == 3.0
    assert Baseline("item_mean", stats).predict(rp, row) == 5.0
    assert Baseline("item_mean", stats).predict(rp, {**row, "item_id": "unknown"}) == 1.5


def test_model_baseline_is_scored_like_a_model(dataset_dir, tmp_path, capsys):
    out = str(tmp_path / "pop")
    assert main(["--model", "baseline:popularity", "--dataset", dataset_dir, "--tasks", "tkr,cdr,nir",
                 "--output", out, "--baselines"]) == 0
    res = json.loads(Path(os.path.join(out, "results.json")).read_text())
    assert res["model"]["baseline"] == "popularity"
    assert os.path.isfile(os.path.join(out, "results.png"))  # drawn with the chance lines
    assert {b["baseline"] for b in res["baselines"]} == {"random", "first", "popularity"}
    assert {c["abbr"] for c in res["cells"]} == {"TKR", "CDR", "NIR"}
    assert all(c["mode"] == "baseline:popularity" and c["parse_rate"] == 1.0 for c in res["cells"])
    capsys.readouterr()
    # a baseline that cannot answer a subtask, or an unknown one, is a one-line error (exit 2)
    assert main(["--model", "baseline:popularity", "--dataset", dataset_dir, "--tasks", "rp", "--output", str(tmp_path / "x")]) == 2
    assert "does not answer RP" in capsys.readouterr().err
    assert main(["--model", "baseline:nope", "--dataset", dataset_dir, "--output", str(tmp_path / "y")]) == 2
    assert "unknown baseline" in capsys.readouterr().err


def test_baselines_with_the_default_tasks_on_a_real_movielens_only_build(real_build, tmp_path, capsys):
    """The default --tasks all scores the cells a one-source build has (no cross-domain config)."""
    out = str(tmp_path / "b")
    assert main(["--baselines", "--dataset", real_build, "--output", out, "--no-chart"]) == 0
    captured = capsys.readouterr()
    assert "has no cross_domain_recommendation" in captured.err
    res = json.loads(Path(os.path.join(out, "results.json")).read_text())
    assert "cross_domain_recommendation" in res["tasks_skipped"]
    shown = {(b["task"], b["baseline"]) for b in res["baselines"]}
    assert {("rating_prediction", "user_mean"), ("top_k_recommendation", "popularity"),
            ("next_item_recommendation", "random")} <= shown
    assert "| movielens_32m |" in captured.out and "| popularity |" in captured.out


def test_every_real_ranked_row_can_be_permuted(real_build):
    """--candidate-orders works on the builder's real prompts (title:category lines, a closing question)."""
    from itdr_eval.orders import permute_row

    for config in ("top_k_recommendation", "next_item_recommendation"):
        for row in select_rows(load_split(real_build, config, "test"), "eval", None):
            n = len(row["candidates"])
            new = permute_row(row, list(reversed(range(n))), 0)
            listed = new["input"].rsplit("Candidates:\n", 1)[1].splitlines()[:n]
            assert [ln.split(". ", 1)[1].startswith(c) for ln, c in zip(listed, new["candidates"])] == [True] * n
            assert sorted(new["input"]) == sorted(row["input"])  # the same characters, only moved
