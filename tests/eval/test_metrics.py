"""Metric functions against hand-computed values (ties, empty outputs, hallucinated and duplicate items)."""

import math

import pytest
from itdr_eval import metrics as M
from itdr_eval.scoring import _aggregate_attributes, rating_options, score_attributes

LOG2_3 = math.log2(3)


def test_rmse_and_mean():
    assert M.rmse([1.0, -2.0, 2.0]) == pytest.approx(math.sqrt(3.0))
    assert M.mean([1.0, 2.0]) == 1.5
    assert math.isnan(M.rmse([])) and math.isnan(M.mean([]))


def test_rating_error_clamps_and_scores_misses_as_worst_in_scale():
    assert M.rating_error(4.0, 4.5, 0.5, 5.0) == 0.5
    assert M.rating_error(7.0, 4.0, 1.0, 5.0) == 1.0  # clamped to 5
    assert M.rating_error(None, 4.5, 0.5, 5.0) == 4.0  # max(4.5-0.5, 5-4.5)
    assert M.rating_error(float("nan"), 2.0, 1.0, 10.0) == 8.0


def test_rating_options_half_and_whole_steps():
    assert rating_options(0.5, 5.0) == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
    assert rating_options(1.0, 5.0) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_ndcg_hand_computed():
    # rels [1, 0, 1]: DCG = 1 + 1/log2(4) = 1.5; IDCG (2 positives) = 1 + 1/log2(3)
    assert M.ndcg_at_k(["B", "X", "A"], ["A", "B"]) == pytest.approx(1.5 / (1 + 1 / LOG2_3))
    assert M.ndcg_at_k(["B", "X", "A"], ["A", "B"]) == pytest.approx(0.9197207891481876)
    assert M.ndcg_at_k(["A", "B"], ["A", "B"]) == pytest.approx(1.0)


def test_ndcg_ideal_uses_number_of_positives_capped_at_k():
    pos = ["p1", "p2", "p3", "p4", "p5"]
    ranked = ["n1", "p1", "n2", "p2", "n3", "p3", "n4", "p4", "n5", "p5"]
    dcg = sum(1 / math.log2(i + 1) for i in (2, 4, 6, 8, 10))
    idcg = sum(1 / math.log2(i + 1) for i in (1, 2, 3, 4, 5))
    assert M.ndcg_at_k(ranked, pos, 10) == pytest.approx(dcg / idcg)
    # more positives than k: ideal has k ones
    assert M.ndcg_at_k(["a", "b"], ["a", "b", "c"], k=2) == pytest.approx(1.0)


def test_duplicates_and_hallucinations_are_misses_in_place():
    assert M.relevance(["A", "A", None, "B"], ["A", "B"]) == [1, 0, 0, 1]
    # duplicate A at rank 2 gives nothing: same DCG as [A, X, B]
    assert M.ndcg_at_k(["A", "A", "B"], ["A", "B"]) == pytest.approx(M.ndcg_at_k(["A", "X", "B"], ["A", "B"]))
    # hallucinated top line pushes the positive to rank 2
    assert M.ndcg_at_k([None, "A"], ["A"]) == pytest.approx(1 / LOG2_3)
    assert M.hit_at_k([None, "A"], ["A"], 1) == 0.0
    assert M.precision_at_k(["A", "A", "A", "A", "A"], ["A", "B"], 5) == pytest.approx(0.2)


def test_empty_output_scores_zero_and_short_lists_keep_k_denominator():
    assert M.ndcg_at_k([], ["A"]) == 0.0
    assert M.hit_at_k([], ["A"]) == 0.0
    assert M.precision_at_k([], ["A"]) == 0.0
    assert M.precision_at_k(["A"], ["A", "B"], 5) == pytest.approx(0.2)
    assert M.ndcg_at_k(["A"], []) == 0.0


def test_hit_and_precision():
    assert M.hit_at_k(["A", "X"], ["A"], 1) == 1.0
    assert M.hit_at_k(["X", "A"], ["A"], 1) == 0.0
    assert M.precision_at_k(["A", "X", "B", "Y", "C", "D"], ["A", "B", "C", "D"], 5) == pytest.approx(3 / 5)


def test_ranking_from_scores_ties_keep_prompt_order():
    assert M.ranking_from_scores(["a", "b", "c", "d"], [1.0, 2.0, 2.0, 1.0]) == ["b", "c", "a", "d"]


def test_exact_match_normalisation():
    assert M.exact_match(" Doctor/Health  Care. ", "doctor/health care") == 1.0
    assert M.exact_match("M", "F") == 0.0
    assert M.exact_match(None, "M") == 0.0
    assert M.normalize_text("ＡＢＣ") == "abc"  # NFKC full-width


def test_bleu_hand_computed_and_matches_sacrebleu_corpus():
    from sacrebleu.metrics import BLEU

    # p1 = p2 = 1, BP = exp(1 - 6/3)
    s = M.bleu_stats("the cat sat", "the cat sat on the mat", 1)
    assert M.corpus_bleu([s], 1) == pytest.approx(math.exp(-1))
    hyps = ["the cat sat on a mat", "a dog barks loudly today", ""]
    refs = ["the cat sat on the mat", "the dog barks loudly", "something"]
    for n in (1, 2):
        ours = M.corpus_bleu([M.bleu_stats(h, r, n) for h, r in zip(hyps, refs)], n)
        theirs = BLEU(max_ngram_order=n, smooth_method="none").corpus_score(hyps, [refs]).score / 100
        assert ours == pytest.approx(theirs)


def test_bleu_and_rouge_of_empty_output_are_zero():
    assert M.corpus_bleu([M.bleu_stats("", "a reference text", 2)], 2) == 0.0
    assert M.rouge_f1("", "a reference text") == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_rouge_hand_computed():
    r = M.rouge_f1("the cat", "the cat sat", stemmer=False)
    assert r["rouge1"] == pytest.approx(0.8)  # P=1, R=2/3
    assert r["rouge2"] == pytest.approx(2 / 3)  # P=1, R=1/2
    assert r["rougeL"] == pytest.approx(0.8)


def test_attribute_scoring_accuracy_and_numeric_rmse_with_miss():
    rows = [
        {"attributes": [{"name": "gender", "value": "M", "kind": "categorical"},
                        {"name": "age", "value": "20", "kind": "numeric"}]},
        {"attributes": [{"name": "gender", "value": "F", "kind": "categorical"},
                        {"name": "age", "value": "30", "kind": "numeric"}]},
    ]
    parsed = [{"gender": "m", "age": "23"}, {"gender": "M"}]  # second: wrong gender, age missing
    metrics, normalised = _aggregate_attributes([score_attributes(r, p) for r, p in zip(rows, parsed)])
    assert metrics["acc[gender]"] == 0.5
    # errors: 3 and miss = spread(20, 30) = 10  -> sqrt((9 + 100) / 2)
    assert metrics["rmse[age]"] == pytest.approx(math.sqrt(109 / 2))
    assert normalised[1] == pytest.approx(max(0.0, 1 - math.sqrt(109 / 2) / 10))


def test_summary_scores():
    assert M.error_to_score(1.0, 4.0) == 0.75
    assert M.error_to_score(9.0, 4.0) == 0.0
    assert M.summary_score([[0.5, 1.0], [0.0], []]) == pytest.approx(37.5)
    assert math.isnan(M.summary_score([]))


def test_numeric_attribute_predictions_are_clamped_so_a_wrong_answer_never_beats_a_miss():
    """Regression (issue 11, defect 6): ``age:1998`` alone blew a cell's RMSE up by orders of magnitude."""
    rows = [{"attributes": [{"name": "age", "value": str(v), "kind": "numeric"}]} for v in (20, 30, 45)]
    wild = [{"age": "1998"}, {"age": "30"}, {"age": "45"}]
    missing = [{}, {"age": "30"}, {"age": "45"}]
    m_wild, _ = _aggregate_attributes([score_attributes(r, p) for r, p in zip(rows, wild)])
    m_miss, _ = _aggregate_attributes([score_attributes(r, p) for r, p in zip(rows, missing)])
    # 1998 is clamped to the references' max 45: error 25 = the miss error (spread 45 - 20)
    assert m_wild["rmse[age]"] == pytest.approx(math.sqrt(25 ** 2 / 3))
    assert m_wild["rmse[age]"] <= m_miss["rmse[age]"]
    below, _ = _aggregate_attributes([score_attributes(r, p) for r, p in zip(rows, [{"age": "-5"}, {"age": "30"}, {"age": "45"}])])
    assert below["rmse[age]"] == 0.0  # clamped up to the minimum reference 20 = the truth
