"""ITDR prose answers (IR, TUI): corpus BLEU-1/2 (sacrebleu, cumulative, no smoothing, as a
fraction) and mean ROUGE-1/2/L F1 (rouge_score).
"""

import datasets
import evaluate
from itdr_eval import metrics as M

_KWARGS = """
Args:
    predictions: generated texts.
    references: reference texts.
    tokenize: sacrebleu tokenizer (default "13a").
    use_stemmer: rouge_score stemming (default True).
Returns:
    bleu1, bleu2, rouge1, rouge2, rougeL, n
"""


class ItdrText(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
        )

    def _compute(self, predictions, references, tokenize="13a", use_stemmer=True):
        out = {}
        for n in (1, 2):
            out[f"bleu{n}"] = M.corpus_bleu([M.bleu_stats(p, r, n, tokenize) for p, r in zip(predictions, references)], n)
        rouge = [M.rouge_f1(p, r, use_stemmer) for p, r in zip(predictions, references)]
        for k in ("rouge1", "rouge2", "rougeL"):
            out[k] = M.mean(s[k] for s in rouge)
        out["n"] = len(references)
        return out
