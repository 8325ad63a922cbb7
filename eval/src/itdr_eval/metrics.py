"""Metric functions: pure, typed, never rounded; per-example scoring separate from aggregation.

Conventions (SPEC §4):

* A miss (unparseable answer, hallucinated or duplicate item) is scored, never dropped: it stays
  in every denominator.
* Ranked lists are sequences of candidate titles where ``None`` marks an output line that matched
  no candidate (a hallucination). Such a line keeps its position and has relevance 0; so does the
  second and later occurrence of the same title (a duplicate).
* BLEU and ROUGE are reported as fractions in [0, 1] (sacrebleu's 0-100 BLEU divided by 100).
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# ----------------------------------------------------------------------------- aggregation


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; ``nan`` for an empty input."""
    vals = list(values)
    return math.fsum(vals) / len(vals) if vals else math.nan


def rmse(errors: Iterable[float]) -> float:
    r"""Root mean squared error from per-example errors :math:`e_i = \hat y_i - y_i`.

    .. math:: \mathrm{RMSE} = \sqrt{\tfrac{1}{n}\sum_i e_i^2}
    """
    errs = list(errors)
    return math.sqrt(math.fsum(e * e for e in errs) / len(errs)) if errs else math.nan


# ----------------------------------------------------------------------------- ratings


def clamp(value: float, low: float, high: float) -> float:
    """``value`` limited to ``[low, high]``."""
    return min(max(value, low), high)


def rating_error(prediction: float | None, reference: float, rating_min: float, rating_max: float) -> float:
    r"""Absolute error of one rating prediction, with misses scored as the worst in-scale guess.

    .. math:: e = |\mathrm{clamp}(\hat y, y_{min}, y_{max}) - y|, \quad
              e_{miss} = \max(y - y_{min},\; y_{max} - y)

    An unparseable answer (``prediction is None``) gets :math:`e_{miss}`, the largest error any
    answer on the scale could make for this row, so it is never better than a real guess.
    """
    if prediction is None or math.isnan(prediction):
        return max(reference - rating_min, rating_max - reference)
    return abs(clamp(prediction, rating_min, rating_max) - reference)


# ----------------------------------------------------------------------------- ranking


def relevance(ranked: Sequence[str | None], positives: Iterable[str]) -> list[int]:
    """Binary relevance of each position: 1 for the first occurrence of a positive, else 0.

    ``None`` (hallucinated line) and repeated titles (duplicates) get 0 and keep their position.
    """
    pos = set(positives)
    seen: set[str] = set()
    rels: list[int] = []
    for item in ranked:
        rels.append(int(item is not None and item in pos and item not in seen))
        if item is not None:
            seen.add(item)
    return rels


def dcg_at_k(rels: Sequence[int], k: int) -> float:
    r"""Discounted cumulative gain with binary gains.

    .. math:: \mathrm{DCG@k} = \sum_{i=1}^{\min(k, |r|)} \frac{r_i}{\log_2(i + 1)}
    """
    return math.fsum(r / math.log2(i + 2) for i, r in enumerate(rels[:k]))


def ndcg_at_k(ranked: Sequence[str | None], positives: Sequence[str], k: int = 10) -> float:
    r"""NDCG@k with binary relevance; the ideal DCG is computed from the number of positives.

    .. math:: \mathrm{NDCG@k} = \frac{\mathrm{DCG@k}(r)}{\sum_{i=1}^{\min(k, |P|)} 1/\log_2(i+1)}

    where :math:`r` is :func:`relevance` of the ranked list and :math:`P` the set of positives.
    Returns 0 when there are no positives or the list is empty.
    """
    n_pos = len(set(positives))
    if n_pos == 0:
        return 0.0
    ideal = dcg_at_k([1] * min(k, n_pos), k)
    return dcg_at_k(relevance(ranked, positives), k) / ideal


def hit_at_k(ranked: Sequence[str | None], positives: Sequence[str], k: int = 1) -> float:
    r"""1 if a positive is among the first ``k`` positions, else 0 (Hit@1 = top-1 accuracy).

    .. math:: \mathrm{Hit@k} = \mathbb{1}\left[\sum_{i=1}^{k} r_i > 0\right]
    """
    return float(any(relevance(ranked, positives)[:k]))


def precision_at_k(ranked: Sequence[str | None], positives: Sequence[str], k: int = 5) -> float:
    r"""Fraction of the first ``k`` positions holding a (first-occurrence) positive.

    .. math:: \mathrm{P@k} = \frac{1}{k}\sum_{i=1}^{k} r_i

    The denominator is always ``k``: a list shorter than ``k`` is padded with misses.
    """
    return sum(relevance(ranked, positives)[:k]) / k


def ranking_from_scores(candidates: Sequence[str], scores: Sequence[float]) -> list[str]:
    """Candidates sorted by descending score; ties keep the prompt's candidate order (stable)."""
    order = sorted(range(len(candidates)), key=lambda i: -scores[i])
    return [candidates[i] for i in order]


# ----------------------------------------------------------------------------- attributes

_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = "\"'`.,;:!?()[]{}<>*_ \t\n"


def normalize_text(text: str) -> str:
    """NFKC, casefold, collapse whitespace, strip surrounding punctuation and quotes."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", text).strip(_EDGE_PUNCT)


def exact_match(prediction: str | None, reference: str) -> float:
    """1.0 if both strings are equal after :func:`normalize_text`, else 0 (``None`` is a miss)."""
    return float(prediction is not None and normalize_text(prediction) == normalize_text(reference))


def numeric_miss_error(references: Sequence[float]) -> float:
    r"""Error charged to a missing numeric attribute in a cell: the spread of the references.

    .. math:: e_{miss} = \max\big(1,\; \max_i y_i - \min_i y_i\big)

    (the largest error a guess inside the observed range could make; at least 1).
    """
    return max(1.0, max(references) - min(references)) if references else 1.0


# ----------------------------------------------------------------------------- text


@dataclass(frozen=True)
class BleuStats:
    """Sufficient statistics of one hypothesis for corpus BLEU (sacrebleu's counts)."""

    correct: tuple[int, ...]
    total: tuple[int, ...]
    sys_len: int
    ref_len: int


class _DropSentenceBleuAdvice(logging.Filter):
    # sentence_score warns about effective_order on every call; we only use its n-gram counts
    def filter(self, record: logging.LogRecord) -> bool:
        return "effective_order" not in record.getMessage()


@functools.lru_cache(maxsize=16)
def _bleu(max_order: int, tokenize: str):
    from sacrebleu.metrics import BLEU

    logger = logging.getLogger("sacrebleu")
    if not any(isinstance(f, _DropSentenceBleuAdvice) for f in logger.filters):
        logger.addFilter(_DropSentenceBleuAdvice())
    return BLEU(tokenize=tokenize, max_ngram_order=max_order, effective_order=False)


def bleu_stats(hypothesis: str, reference: str, max_order: int, tokenize: str = "13a") -> BleuStats:
    """n-gram match counts of one hypothesis against one reference (sacrebleu tokenizer ``tokenize``)."""
    s = _bleu(max_order, tokenize).sentence_score(hypothesis, [reference])
    return BleuStats(tuple(s.counts), tuple(s.totals), s.sys_len, s.ref_len)


def corpus_bleu(stats: Sequence[BleuStats], max_order: int) -> float:
    r"""Corpus BLEU-N (cumulative, uniform weights, no smoothing) as a fraction, from summed stats.

    .. math:: \mathrm{BLEU\text{-}N} = \mathrm{BP}\cdot\exp\Big(\tfrac{1}{N}\sum_{n=1}^{N}\log p_n\Big),
              \quad p_n = \frac{\sum_i \mathrm{match}_{i,n}}{\sum_i \mathrm{total}_{i,n}},
              \quad \mathrm{BP} = \min\big(1, e^{1 - r/c}\big)

    with :math:`c` the summed hypothesis length and :math:`r` the summed reference length.
    Identical to ``sacrebleu.corpus_bleu(..., max_ngram_order=N)`` / 100.
    """
    from sacrebleu.metrics import BLEU

    if not stats:
        return math.nan
    correct = [sum(s.correct[n] for s in stats) for n in range(max_order)]
    total = [sum(s.total[n] for s in stats) for n in range(max_order)]
    score = BLEU.compute_bleu(
        correct, total, sum(s.sys_len for s in stats), sum(s.ref_len for s in stats),
        smooth_method="none", max_ngram_order=max_order,
    )
    return score.score / 100.0


@functools.lru_cache(maxsize=4)
def _rouge(stemmer: bool):
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=stemmer)


def rouge_f1(hypothesis: str, reference: str, stemmer: bool = True) -> dict[str, float]:
    r"""ROUGE-1/2/L F1 of one hypothesis (rouge_score; English tokenisation).

    .. math:: F_1 = \frac{2PR}{P + R}, \quad P = \frac{|\mathrm{overlap}|}{|\mathrm{hyp}|},\quad
              R = \frac{|\mathrm{overlap}|}{|\mathrm{ref}|}

    overlap = shared unigrams (ROUGE-1), bigrams (ROUGE-2) or the longest common subsequence
    (ROUGE-L). The corpus value is the mean over examples.
    """
    scores = _rouge(stemmer).score(reference, hypothesis)
    return {k: float(v.fmeasure) for k, v in scores.items()}


# ----------------------------------------------------------------------------- summaries

SUMMARY_PAPER_DOC = (
    "pUII = 100 x mean over the UII metric columns of the paper's table (TKR: NDCG@10, Hit@1, P@5; "
    "CDR: the same three; NIR: Hit@1; RP: RMSE as max(0, 1 - RMSE / rating range)), each column first "
    "averaged over its sources - weights 3/8 TKR, 3/8 CDR, 1/8 NIR, 1/8 RP. This reading is inferred: it "
    "reproduces the paper's published pUII values within 0.001. pUIU = the same over the UIU columns "
    "(UAP: one per attribute; IR and TUI: BLEU-1/2, ROUGE-1/2/L each). Normalised as for --summary cells."
)

RANDOM_NDCG_NOTE = (
    "A random ranking of 10 candidates with 5 binary positives scores E[NDCG@10] = 0.7705 "
    "(0.5 * sum_{i<=10} 1/log2(i+1) / sum_{i<=5} 1/log2(i+1) = 0.5 * 4.5436 / 2.9485), not 0.68; TKR/CDR NDCG@10 must be read against that."
)

SUMMARY_DOC = (
    "pUII = 100 x mean over UII cells (RP, TKR, CDR, NIR) of the mean of the cell's normalised "
    "metrics; pUIU = the same over UIU cells (UAP, IR, TUI). Normalised metrics: NDCG@10, Hit@1, "
    "P@5, accuracy, BLEU-1/2 and ROUGE-1/2/L enter as they are (fractions in [0, 1]); an error "
    "metric enters as max(0, 1 - RMSE / range), range = rating_max - rating_min for RP and the "
    "references' spread (max - min, at least 1) for a numeric attribute."
)


def error_to_score(error: float, scale_range: float) -> float:
    r"""An error metric mapped to [0, 1], higher is better: :math:`\max(0, 1 - e / \mathrm{range})`."""
    return max(0.0, 1.0 - error / scale_range) if scale_range > 0 else 0.0


def random_ndcg_at_k(n_candidates: int, n_positives: int, k: int = 10) -> float:
    r"""Expected NDCG@k of a uniformly random ranking with binary relevance (linearity of expectation).

    .. math:: E[\mathrm{NDCG@k}] = \frac{p}{n}\sum_{i=1}^{\min(k,n)} \frac{1}{\log_2(i+1)}
              \Big/ \sum_{i=1}^{\min(k,p)} \frac{1}{\log_2(i+1)}
    """
    if n_candidates <= 0 or n_positives <= 0:
        return 0.0
    gain = n_positives / n_candidates * dcg_at_k([1] * min(k, n_candidates), k)
    return gain / dcg_at_k([1] * min(k, n_positives), k)


def column_summary_score(columns: Sequence[Sequence[float]]) -> float:
    r"""The paper-style summary: mean over metric columns of each column's mean over sources.

    .. math:: p = 100 \cdot \frac{1}{|K|}\sum_{k \in K} \frac{1}{|S_k|}\sum_{s \in S_k} m_{k,s}
    """
    per_col = [mean(c) for c in columns if len(c)]
    per_col = [v for v in per_col if not math.isnan(v)]
    return 100.0 * mean(per_col) if per_col else math.nan


def summary_score(cells: Sequence[Sequence[float]]) -> float:
    r"""pUII / pUIU from the normalised metrics of each cell (see ``SUMMARY_DOC``).

    .. math:: p = 100 \cdot \frac{1}{|C|}\sum_{c \in C} \frac{1}{|M_c|}\sum_{m \in M_c} m

    Cells without metrics are skipped; ``nan`` when no cell is left.
    """
    per_cell = [mean(c) for c in cells if len(c)]
    per_cell = [v for v in per_cell if not math.isnan(v)]
    return 100.0 * mean(per_cell) if per_cell else math.nan
