"""Cell metrics register with a decorator that states whether they count toward pUII/pUIU."""

from __future__ import annotations

import pytest
from itdr_eval.bootstrap import resampled_metrics
from itdr_eval.scoring import CELL_METRICS, aggregate_cell, register_metric, summary_metrics
from itdr_eval.tasks import get_task

RECORDS = [{"parse_ok": True, "scores": {"hit@1": h, "first_letter": f}} for h, f in ((1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (0.0, 0.0))]


@pytest.fixture
def extra_metric():
    def register(summary: bool):
        register_metric("first_letter", answer="choice", summary=summary)(lambda scores: sum(s["first_letter"] for s in scores) / len(scores) / 2)

    yield register
    CELL_METRICS["choice"] = [m for m in CELL_METRICS["choice"] if m.name != "first_letter"]


def test_the_built_in_metrics_are_registered_with_their_summary_role():
    assert summary_metrics("ranking") == ["ndcg@10", "hit@1", "p@5"]
    assert summary_metrics("text") == ["bleu1", "bleu2", "rouge1", "rouge2", "rougeL"]
    assert summary_metrics("rating") == ["rmse"] and summary_metrics("choice") == ["hit@1"]


def test_a_diagnostic_metric_is_reported_without_moving_the_summary(extra_metric):
    task = get_task("next_item_recommendation")
    before = aggregate_cell(task, RECORDS)
    extra_metric(summary=False)
    after = aggregate_cell(task, RECORDS)
    assert after["metrics"] == {"hit@1": 0.5, "first_letter": 0.25}
    assert after["normalised"] == before["normalised"] == [0.5]
    assert after["normalised_by_metric"] == {"hit@1": 0.5}


def test_a_summary_metric_enters_the_summary(extra_metric):
    extra_metric(summary=True)
    cell = aggregate_cell(get_task("next_item_recommendation"), RECORDS)
    assert cell["normalised"] == [0.5, 0.25]
    assert cell["normalised_by_metric"] == {"hit@1": 0.5, "first_letter": 0.25}


def test_a_registered_metric_is_resampled_too(extra_metric):
    import numpy as np

    extra_metric(summary=False)
    metrics, norm = resampled_metrics(get_task("next_item_recommendation"), RECORDS, np.array([[0, 1, 2, 3], [0, 0, 0, 0]]))
    assert metrics["first_letter"].tolist() == [0.25, 0.5] and norm.tolist() == [0.5, 1.0]


def test_a_metric_is_registered_once():
    with pytest.raises(ValueError, match="twice"):
        register_metric("hit@1", answer="choice", summary=True)(lambda scores: 0.0)
