"""The bundled `evaluate` modules load offline and agree with the pure functions."""

import math

import itdr_eval
import pytest
from itdr_eval import metrics as M


def _load(name):
    import evaluate

    return evaluate.load(itdr_eval.metric_module_path(name))


def test_unknown_module_name_lists_known():
    with pytest.raises(KeyError, match="itdr_ranking"):
        itdr_eval.metric_module_path("nope")


def test_ranking_module_matches_pure_functions():
    preds = [["B", "X", "A"], ["A", "A", ""], []]
    refs = [["A", "B"], ["A", "B"], ["A"]]
    out = _load("itdr_ranking").compute(predictions=preds, references=refs)
    ranked = [[t or None for t in p] for p in preds]
    assert out["ndcg@10"] == pytest.approx(M.mean(M.ndcg_at_k(r, p) for r, p in zip(ranked, refs)))
    assert out["hit@1"] == pytest.approx(2 / 3)
    assert out["p@5"] == pytest.approx((2 / 5 + 1 / 5 + 0) / 3)


def test_rating_module_matches_pure_functions():
    out = _load("itdr_rating").compute(predictions=[4.0, None, 7.0], references=[4.5, 4.5, 4.0], rating_min=0.5, rating_max=5.0)
    assert out["rmse"] == pytest.approx(M.rmse([0.5, 4.0, 1.0]))


def test_attributes_module():
    out = _load("itdr_attributes").compute(
        predictions=["gender:M, age:23", "gender: M"], references=["gender:M,age:20", "gender:F,age:30"],
        attribute_names=["gender", "age"], numeric=["age"])
    assert out["acc[gender]"] == 0.5
    assert out["rmse[age]"] == pytest.approx(math.sqrt((9 + 100) / 2))


def test_text_module_matches_pure_functions():
    hyps = ["the cat sat on a mat", "a dog barks", ""]
    refs = ["the cat sat on the mat", "the dog barks loudly", "something"]
    out = _load("itdr_text").compute(predictions=hyps, references=refs)
    for n in (1, 2):
        assert out[f"bleu{n}"] == pytest.approx(M.corpus_bleu([M.bleu_stats(h, r, n) for h, r in zip(hyps, refs)], n))
    assert out["rougeL"] == pytest.approx(M.mean(M.rouge_f1(h, r)["rougeL"] for h, r in zip(hyps, refs)))
