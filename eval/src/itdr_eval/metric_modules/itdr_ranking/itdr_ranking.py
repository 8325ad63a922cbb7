"""ITDR ranking (TKR, CDR, NIR): NDCG@10 (binary relevance, ideal DCG from the number of
positives), Hit@1 and Precision@5, averaged over examples.

A prediction is a ranked list of titles; a title that is not a positive, an empty string (a line
that matched no candidate) and a repeated title all have relevance 0 and keep their position.
"""

import datasets
import evaluate
from itdr_eval import metrics as M

_KWARGS = """
Args:
    predictions: ranked lists of candidate titles ("" = unmatched line).
    references: the positives of each example.
Returns:
    ndcg@10, hit@1, p@5, n
"""


class ItdrRanking(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__, citation="", inputs_description=_KWARGS,
            features=datasets.Features({
                "predictions": datasets.Sequence(datasets.Value("string")),
                "references": datasets.Sequence(datasets.Value("string")),
            }),
        )

    def _compute(self, predictions, references):
        ranked = [[t if t else None for t in p] for p in predictions]
        return {
            "ndcg@10": M.mean(M.ndcg_at_k(r, pos, 10) for r, pos in zip(ranked, references)),
            "hit@1": M.mean(M.hit_at_k(r, pos, 1) for r, pos in zip(ranked, references)),
            "p@5": M.mean(M.precision_at_k(r, pos, 5) for r, pos in zip(ranked, references)),
            "n": len(references),
        }
