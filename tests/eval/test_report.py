"""Summary scores (paper columns vs cells), the chart's missing-cell labels, and budget derivation."""

import math

import pytest
from itdr_eval import metrics as M
from itdr_eval import report
from itdr_eval.budgets import budget_from_lengths, derive_cell_budgets, percentile


def _cell(task, source, by_metric):
    return {"task": task, "source": source, "normalised": list(by_metric.values()), "normalised_by_metric": by_metric,
            "metrics": dict(by_metric)}


def test_random_ndcg_is_0_7705_not_0_68():
    assert M.random_ndcg_at_k(10, 5) == pytest.approx(0.77050, abs=5e-5)
    # brute force over all placements of 5 positives among 10 positions
    from itertools import combinations

    vals = [M.ndcg_at_k([f"c{i}" for i in range(10)], [f"c{i}" for i in pos]) for pos in combinations(range(10), 5)]
    assert M.mean(vals) == pytest.approx(M.random_ndcg_at_k(10, 5))


def test_paper_summary_weights_columns_3_3_1_1_over_8():
    cells = [
        _cell("top_k_recommendation", "a", {"ndcg@10": 0.2, "hit@1": 0.2, "p@5": 0.2}),
        _cell("top_k_recommendation", "b", {"ndcg@10": 0.4, "hit@1": 0.4, "p@5": 0.4}),
        _cell("cross_domain_recommendation", "a", {"ndcg@10": 0.9, "hit@1": 0.9, "p@5": 0.9}),
        _cell("next_item_recommendation", "a", {"hit@1": 0.5}),
        _cell("rating_prediction", "a", {"rmse": 0.7}),
    ]
    paper = report.summarise(cells, "paper")
    # TKR columns average over sources (0.3 each): (3*0.3 + 3*0.9 + 0.5 + 0.7) / 8
    assert paper["pUII"] == pytest.approx(100 * (3 * 0.3 + 3 * 0.9 + 0.5 + 0.7) / 8)
    assert paper["method"] == "paper" and paper["alternative"]["method"] == "cells"
    # per cell: mean of (0.2, 0.4, 0.9, 0.5, 0.7)
    assert paper["alternative"]["pUII"] == pytest.approx(100 * (0.2 + 0.4 + 0.9 + 0.5 + 0.7) / 5)
    assert report.summarise(cells, "cells")["pUII"] == pytest.approx(paper["alternative"]["pUII"])
    with pytest.raises(ValueError):
        report.summarise(cells, "median")


def test_chart_labels_zero_and_missing_differently():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    report._bars(ax, [0, 1], [0.0, None], 0.8, "this", 1.0)
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["0.00", "n/a"]
    assert [b.get_visible() for b in ax.patches] == [True, False]
    plt.close(fig)


def test_budget_is_p99_of_reference_tokens_plus_margin():
    lengths = list(range(1, 201))  # p99 (nearest rank) = 198
    assert percentile(lengths, 99) == 198
    assert budget_from_lengths(lengths) == math.ceil(198 * 1.1) + 8
    rows = [{"source": "steam", "output": "x" * n} for n in range(1, 101)] + [{"source": "amazon", "output": "xx"}]
    cells = derive_cell_budgets(rows, lambda r: len(r["output"]))
    assert cells["steam"]["p99_reference_tokens"] == 99 and cells["amazon"]["max_new_tokens"] == math.ceil(2 * 1.1) + 8
