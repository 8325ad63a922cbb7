"""Benchmark: likelihood scoring with the prompt's KV cache reused across options (issue 13).

Scores the same real ml-latest-small rows (RP: 10 rating options, TKR: 20 ranked candidates,
NIR: 20 candidates) with ``Predictor(kv_reuse=False)`` (the floor: one left-padded pass over
``prompt + option`` for every option) and ``kv_reuse=True`` (one prompt pass, then only the option
tokens on the repeated cache), in the same run, checks the scores agree, and prints rows/s.
Models: the tests' tiny random model and, with ``--smollm2``, SmolLM2-135M-Instruct on CPU
(converted once by ``scripts/smollm2.py``). Target: a clear speed-up on the real model (the
prompt is ~10-100x longer than an option).

    python benchmarks/likelihood_kv.py --data DIR [--rows 8] [--smollm2] [--cache DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = (("rp", "rating_prediction"), ("tkr", "top_k_recommendation"), ("nir", "next_item_recommendation"))


def load_rows(data: str, config: str, n: int) -> list[dict]:
    import glob

    import pyarrow.parquet as pq

    (path,) = glob.glob(os.path.join(data, config, "test-*.parquet"))
    rows = [r for r in pq.read_table(path).to_pylist() if r.get("eval_subset")]
    return rows[:n]


def bench(name: str, model, tok, data: str, n: int) -> None:
    import torch
    from itdr_eval.predict import Predictor
    from itdr_eval.prompts import resolve_format
    from itdr_eval.scoring import rating_option_strings
    from itdr_eval.tasks import get_task

    torch.manual_seed(0)
    for abbr, config in TASKS:
        rows = load_rows(data, config, n)
        strings = rating_option_strings(rows) if abbr == "rp" else None
        cached = Predictor(model.eval(), tok, resolve_format(tok, "auto"), "cpu", rating_strings=strings)
        full = dataclasses.replace(cached, kv_reuse=False)
        out = {}
        for label, pred in (("full", full), ("kv", cached)):
            pred.likelihood_record(get_task(abbr), rows[0], None)  # warm-up
            t = time.perf_counter()
            recs = [pred.likelihood_record(get_task(abbr), r, None) for r in rows]
            out[label] = (len(rows) / (time.perf_counter() - t), recs)
        diff = max(abs(a - b) for ra, rb in zip(out["full"][1], out["kv"][1])
                   for a, b in zip(ra["raw"]["scores"], rb["raw"]["scores"]))
        same = sum(ra["parsed"] == rb["parsed"] for ra, rb in zip(out["full"][1], out["kv"][1]))
        p_len = sum(len(cached.prompt_ids(r)[1]) for r in rows) / len(rows)
        print(f"{name:10s} {abbr.upper():4s} rows={len(rows):3d} prompt={p_len:6.0f} tok  full {out['full'][0]:7.2f} rows/s  "
              f"kv {out['kv'][0]:7.2f} rows/s  speed-up {out['kv'][0] / out['full'][0]:5.2f}x  "
              f"max|score diff| {diff:.1e}  same answer {same}/{len(rows)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="an itdr-build output folder with MovieLens cells")
    ap.add_argument("--rows", type=int, default=8, help="rows per subtask (default: %(default)s)")
    ap.add_argument("--smollm2", action="store_true", help="also SmolLM2-135M-Instruct (converted once)")
    ap.add_argument("--cache", default=None, help="scripts/smollm2.py cache folder")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from itdr_eval.modeling import load_model

    sys.path[:0] = [os.path.join(ROOT, "tests", "eval"), os.path.join(ROOT, "scripts")]
    from itdr_eval_testutils import make_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        tiny = load_model(make_tiny_model(tmp), dtype=torch.float32)
        bench("tiny", tiny.model, tiny.tokenizer, args.data, args.rows)
    if args.smollm2:
        from smollm2 import DEFAULT_CACHE, ensure_model

        real = load_model(ensure_model(args.cache or DEFAULT_CACHE), dtype=torch.float32)
        bench("SmolLM2", real.model, real.tokenizer, args.data, args.rows)


if __name__ == "__main__":
    main()
