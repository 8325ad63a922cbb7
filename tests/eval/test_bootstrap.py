"""Bootstrap intervals and the paired bootstrap (issue 12)."""

import json
import os
from pathlib import Path

import numpy as np
from itdr_eval import bootstrap as B
from itdr_eval.cli import main
from itdr_eval.tasks import TASKS, get_task

ROOTS = {n: t.root for n, t in TASKS.items()}


def _choice_records(hits):
    return [{"id": f"r{i}", "scores": {"hit@1": float(h)}} for i, h in enumerate(hits)]


def test_interval_covers_the_true_accuracy_about_95_percent_of_the_time():
    nir = get_task("nir")
    rng = np.random.default_rng(0)
    truth, trials, covered = 0.3, 300, 0
    for trial in range(trials):
        recs = _choice_records(rng.random(120) < truth)
        per_cell, summary = B.bootstrap_cells([(nir, "s", recs)], 400, trial, ROOTS)
        ci = per_cell[0]["hit@1"]
        covered += ci["lo"] <= truth <= ci["hi"]
        # the summary of one cell is 100 x its metric
        assert abs(summary["pUII"]["lo"] - 100 * ci["lo"]) < 1e-9
    assert 0.91 <= covered / trials <= 0.985, covered / trials


def test_standard_error_matches_the_binomial_formula():
    recs = _choice_records([1] * 50 + [0] * 50)
    per_cell, _ = B.bootstrap_cells([(get_task("nir"), "s", recs)], 4000, 1, ROOTS)
    assert abs(per_cell[0]["hit@1"]["se"] - 0.05) < 0.005  # sqrt(0.5 * 0.5 / 100)


def test_rmse_interval_is_recomputed_from_resampled_errors():
    recs = [{"id": str(i), "scores": {"abs_error": e, "scale_range": 4.5}} for i, e in enumerate([0.0, 1.0, 2.0, 3.0] * 10)]
    per_cell, _ = B.bootstrap_cells([(get_task("rp"), "s", recs)], 500, 0, ROOTS)
    ci = per_cell[0]["rmse"]
    rmse = np.sqrt(np.mean(np.square([0.0, 1.0, 2.0, 3.0])))
    assert ci["lo"] < rmse < ci["hi"] and ci["se"] > 0


def test_paired_bootstrap_difference_and_p_value():
    nir = get_task("nir")
    a = _choice_records([1] * 60 + [0] * 40)
    same, _ = B.paired(nir, a, a, 500, 0, "k")
    assert same["hit@1"]["diff"] == 0 and same["hit@1"]["p"] == 1.0
    b = _choice_records([0] * 60 + [0] * 40)
    diff, _ = B.paired(nir, a, b, 500, 0, "k")
    assert diff["hit@1"]["diff"] == 0.6 and diff["hit@1"]["p"] < 0.01 and diff["hit@1"]["lo"] > 0.4
    close = _choice_records([1] * 59 + [0] * 41)
    near, _ = B.paired(nir, a, close, 500, 0, "k")
    assert near["hit@1"]["p"] > 0.2


def test_cli_intervals_and_paired_compare(dataset_dir, tmp_path):
    first = str(tmp_path / "first")
    rand = str(tmp_path / "rand")
    common = ["--dataset", dataset_dir, "--tasks", "tkr,nir", "--no-chart", "--bootstrap-resamples", "200"]
    assert main(["--model", "baseline:first", "--output", first, *common]) == 0
    assert main(["--model", "baseline:random", "--output", rand, "--compare", first, *common]) == 0
    res = json.loads(Path(os.path.join(rand, "results.json")).read_text())
    for c in res["cells"]:
        assert set(c["ci"]) == set(c["metrics"])
        for k, ci in c["ci"].items():
            assert ci["lo"] <= c["metrics"][k] + 1e-9 and c["metrics"][k] <= ci["hi"] + 1e-9
        assert c["paired"]["n"] == c["n"]
    assert "pUII" in res["summary"]["ci"] and "pUII" in res["summary"]["paired"]
    md = Path(os.path.join(rand, "results.md")).read_text()
    assert "## Uncertainty" in md and "### Paired difference" in md
