"""ITDR user attribute prediction (UAP): accuracy per categorical attribute (exact match after
normalisation) and RMSE per numeric attribute, from raw `name:value,...` outputs.

A missing categorical value is wrong; a missing numeric value is charged the spread of the
references (max - min, at least 1).
"""

import datasets
import evaluate
from itdr_eval.parsing import parse_attributes
from itdr_eval.scoring import _aggregate_attributes, score_attributes

_KWARGS = """
Args:
    predictions: raw model outputs, e.g. "gender:M, age group:25-34".
    references: reference outputs in the same `name:value` format.
    attribute_names: the attribute names (values may then contain commas).
    numeric: names of the numeric attributes (default none).
Returns:
    acc[<name>] per categorical attribute, rmse[<name>] per numeric one, mean_acc, n
"""


class ItdrAttributes(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
        )

    def _compute(self, predictions, references, attribute_names=(), numeric=()):
        scores = []
        for pred, ref in zip(predictions, references):
            gold = parse_attributes(ref, list(attribute_names))
            row = {"attributes": [{"name": k, "value": v, "kind": "numeric" if k in numeric else "categorical"}
                                  for k, v in gold.items()]}
            scores.append(score_attributes(row, parse_attributes(pred, list(attribute_names))))
        metrics, _ = _aggregate_attributes(scores)
        return {**metrics, "n": len(references)}
