"""ITDR rating prediction (RP): RMSE with misses scored as the worst in-scale error.

RMSE = sqrt(mean_i e_i^2), e_i = |clamp(pred_i, min, max) - ref_i|; a missing prediction
(None / NaN) gets e_i = max(ref_i - min, max - ref_i).
"""

import datasets
import evaluate
from itdr_eval import metrics as M

_KWARGS = """
Args:
    predictions: parsed ratings (float; None or NaN = unparseable).
    references: true ratings.
    rating_min, rating_max: the scale (a number, or one per example).
Returns:
    rmse, n
"""


class ItdrRating(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}),
        )

    def _compute(self, predictions, references, rating_min=1.0, rating_max=5.0):
        n = len(references)
        lo = rating_min if isinstance(rating_min, (list, tuple)) else [rating_min] * n
        hi = rating_max if isinstance(rating_max, (list, tuple)) else [rating_max] * n
        errs = [M.rating_error(p, r, a, b) for p, r, a, b in zip(predictions, references, lo, hi)]
        return {"rmse": M.rmse(errs), "n": n}
