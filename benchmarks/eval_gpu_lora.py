#!/usr/bin/env python
"""GPU benchmark for itdr-eval: LoRA SFT throughput/MFU through itdr-eval's own training path, and
prediction throughput, on a Qwen2.5-7B-shaped model with random weights (no download, no dataset).

Training runs ``itdr_eval.train``: ``prepare_for_training`` (LoRA from an ``EvalConfig``, the
paper's rank 8 / alpha 16 / all linear layers / lr 1e-4 / cosine), ``check_packing`` and
``make_trainer`` (the same ``transformers.Trainer``, collators and ``TrainingArguments`` as
``itdr-eval --finetune lora``), on ITDR-shaped examples (``input_ids`` + ``labels`` with the prompt
masked; seeded lognormal lengths, median ``--median-len``). Variants, one run each:

* ``padded 1x8``: the paper's batch of 1 x gradient accumulation 8 (nothing to pad),
* ``padded Bx1``: a plain padded Trainer, B examples right-padded to the longest (the baseline),
* ``length-grouped Bx1``: ``--batching length-grouped``,
* ``packed Bx1``: ``--batching packed`` (padding-free, one row per micro-batch).

Reported: real (non-pad) tokens/s over the timed optimizer steps, MFU, peak GPU memory, padding.
MFU = useful FLOPs / s / peak, counted per example from its real length s:
linear layers 4 N s (forward 2 N s + backward through the activations 2 N s; frozen weights get no
weight gradients; 6 N s with activation checkpointing) with N = parameters without the input
embedding (the output head counts), plus causal attention 3 x 2 L H d s (s + 1) (scores and values,
forward once and backward twice; 4 x with checkpointing). LoRA's own FLOPs (r = 8, ~0.1%) are left
out; padding is never counted. The peak is the dense bf16 figure of the GPU found (table below, e.g.
H200 / H100 SXM 989 TFLOP/s) or ``--peak-tflops``.

Prediction: greedy ``generate`` on left-padded batches and likelihood scoring (10 options per
prompt in one batched forward with ``logits_to_keep``), merged weights as the paper did.

Runs in well under 8 minutes on one H100/H200. ``--tiny`` runs a small config on CPU as a smoke
check. Imports torch, transformers, peft, accelerate and ``itdr_eval`` (run from the repository
root, or with ``eval/src`` on ``PYTHONPATH``); no ``datasets``.

    python benchmarks/eval_gpu_lora.py            # GPU, full-size model
    python benchmarks/eval_gpu_lora.py --tiny     # CPU smoke check
"""

from __future__ import annotations

import argparse
import math
import random
import time

import torch

# dense bf16 TFLOP/s (no sparsity) by a piece of torch.cuda.get_device_name(); the first match wins
PEAK_BF16_TFLOPS = (("H200", 989.0), ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0), ("GH200", 989.0),
                    ("B200", 2250.0), ("A100", 312.0), ("L40S", 362.0), ("A10G", 125.0), ("L4", 121.0))


def model_config(tiny: bool):
    from transformers import Qwen2Config

    if tiny:
        return Qwen2Config(vocab_size=1024, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                           tie_word_embeddings=False)
    # Qwen2.5-7B shape
    return Qwen2Config(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                       num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768,
                       rope_theta=1_000_000.0, rms_norm_eps=1e-6, tie_word_embeddings=False)


def pick_attention() -> str:
    try:
        import flash_attn  # noqa: F401

        return "flash_attention_2"
    except ImportError:
        return "sdpa"


def build_model(cfg, device: torch.device, dtype: torch.dtype, attn: str):
    from transformers import Qwen2ForCausalLM

    cfg._attn_implementation = attn
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM._from_config(cfg, dtype=dtype)
    return model.eval()


def base_params(model) -> int:
    """N: every parameter but the input embedding."""
    emb = model.get_input_embeddings().weight.numel()
    return sum(p.numel() for p in model.parameters()) - emb


# ------------------------------------------------------------------------------------ training


def itdr_examples(n: int, vocab: int, median: int, max_len: int, seed: int) -> list[dict[str, list[int]]]:
    """Examples as ``itdr_eval.train.tokenize_example`` makes them: lognormal lengths (the paper's
    cells average 80-1,800 tokens in + out, SPEC section 3), the last quarter the response."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = int(min(max_len, max(16, rng.lognormvariate(math.log(median), 0.6))))
        prompt = max(1, int(length * 0.75))
        ids = [rng.randrange(10, vocab) for _ in range(length)]
        out.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]})
    return out


class CountingCollator:
    """Wraps the Trainer's collator and keeps, per micro-batch, the real lengths and the tensor size."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __call__(self, features):
        batch = self.inner(features)
        self.calls.append(([len(f["input_ids"]) for f in features], int(batch["input_ids"].numel())))
        return batch


def useful_flops(lengths: list[int], n_base: int, cfg, checkpointing: bool) -> float:
    """FLOPs of one training pass over examples of these real lengths (see the module docstring)."""
    linear = (6 if checkpointing else 4) * n_base * sum(lengths)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    attention = (4 if checkpointing else 3) * 2 * cfg.num_hidden_layers * cfg.num_attention_heads * head_dim * sum(
        s * (s + 1) for s in lengths)
    return float(linear + attention)


def train_variant(model, examples, *, device, dtype, batching: str, batch: int, grad_accum: int, warmup: int,
                  steps: int, checkpointing: bool, n_base: int, model_cfg, workdir: str) -> dict:
    """``warmup`` untimed then ``steps`` timed optimizer steps of itdr-eval's Trainer."""
    from itdr_eval.config import EvalConfig
    from itdr_eval.train import make_trainer
    from transformers import TrainerCallback

    cfg = EvalConfig(model="benchmark", batching=batching, per_device_batch_size=batch, grad_accum=grad_accum,
                     activation_checkpointing=checkpointing, precision="bf16" if dtype == torch.bfloat16 else "fp32",
                     logging_steps=10**6, save_steps=10**6, seed=0)
    trainer = make_trainer(cfg, model, examples, 0, workdir)
    trainer.args.max_steps = warmup + steps
    counter = CountingCollator(trainer.data_collator)
    trainer.data_collator = counter
    marks: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == warmup:
                sync(device)
                marks["start"] = time.perf_counter()

        def on_train_end(self, args, state, control, **kwargs):
            sync(device)
            marks["end"] = time.perf_counter()

    trainer.add_callback(Clock())
    reset_mem(device)
    trainer.train()
    seconds = marks["end"] - marks["start"]
    timed = counter.calls[warmup * grad_accum:(warmup + steps) * grad_accum]  # the loader may collate one ahead
    if len(timed) < steps * grad_accum:
        raise SystemExit("not enough synthetic examples: raise --sequences")
    real = sum(sum(lengths) for lengths, _ in timed)
    padded = sum(size for _, size in timed)
    flops = sum(useful_flops(lengths, n_base, model_cfg, checkpointing) for lengths, _ in timed)
    return {"tok_s": real / seconds, "flops_s": flops / seconds, "pad_frac": 1 - real / max(padded, 1),
            "mem": peak_mem_gib(device), "seconds": seconds}


# ------------------------------------------------------------------------------------ benchmarks


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_mem_gib(device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")


def reset_mem(device):
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def left_pad(seqs, device):
    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, width - len(s):] = torch.tensor(s)
        mask[i, width - len(s):] = 1
    return ids.to(device), mask.to(device)


def generate_bench(model, prompts, *, batch: int, new_tokens: int, device) -> dict:
    reset_mem(device)
    sync(device)
    start = time.perf_counter()
    n_tok = 0
    with torch.inference_mode():
        for i in range(0, len(prompts), batch):
            chunk = prompts[i:i + batch]
            ids, mask = left_pad(chunk, device)
            model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                           do_sample=False, pad_token_id=0)
            n_tok += sum(len(c) for c in chunk)
    sync(device)
    s = time.perf_counter() - start
    return {"tok_s": n_tok / s, "rows_s": len(prompts) / s, "mem": peak_mem_gib(device), "seconds": s}


def likelihood_bench(model, prompts, *, options: int, option_len: int, vocab: int, device) -> dict:
    rng = random.Random(1)
    reset_mem(device)
    sync(device)
    start = time.perf_counter()
    n_tok = 0
    with torch.inference_mode():
        for p in prompts:
            opts = [[rng.randrange(10, vocab) for _ in range(rng.randint(2, option_len))] for _ in range(options)]
            ids, mask = left_pad([p + o for o in opts], device)
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            width = max(len(o) for o in opts)
            logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=width + 1).logits
            logp = torch.log_softmax(logits[:, :-1].float(), -1)
            _ = [float(logp[i, width - len(o):].gather(-1, torch.tensor(o, device=device)[:, None]).sum())
                 for i, o in enumerate(opts)]
            n_tok += len(p)
    sync(device)
    s = time.perf_counter() - start
    return {"tok_s": n_tok / s, "rows_s": len(prompts) / s, "mem": peak_mem_gib(device), "seconds": s}


# ------------------------------------------------------------------------------------ main


def peak_flops(device, override: float | None) -> float | None:
    if override:
        return override * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, tflops in PEAK_BF16_TFLOPS:
        if key in name:
            return tflops * 1e12
    return None


def main(argv: list[str] | None = None) -> None:
    import os
    import sys
    import tempfile

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "eval", "src"))
    from itdr_eval.config import EvalConfig
    from itdr_eval.train import check_packing, prepare_for_training

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiny", action="store_true", help="small config on CPU (smoke check)")
    ap.add_argument("--max-len", type=int, default=2048, help="longest training example (paper cutoff 2048)")
    ap.add_argument("--median-len", type=int, default=400, help="median example length in tokens")
    ap.add_argument("--batch", type=int, default=8, help="micro-batch of the padded / grouped / packed variants")
    ap.add_argument("--steps", type=int, default=6, help="timed optimizer steps per training variant")
    ap.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps per training variant")
    ap.add_argument("--sequences", type=int, default=400, help="synthetic training examples")
    ap.add_argument("--activation-checkpointing", action="store_true", help="recompute activations (MFU counts it)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="override the peak bf16 TFLOP/s of the device")
    ap.add_argument("--skip-predict", action="store_true", help="training variants only")
    args = ap.parse_args(argv)

    t_all = time.perf_counter()
    if args.tiny:
        device, dtype = torch.device("cpu"), torch.float32
        args.max_len, args.median_len, args.steps, args.sequences = 256, 64, 2, 160
    else:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA device: use --tiny for the CPU smoke check")
        device, dtype = torch.device("cuda"), torch.bfloat16
    cfg = model_config(args.tiny)
    attn = "sdpa" if args.tiny else pick_attention()
    t0 = time.perf_counter()
    model = build_model(cfg, device, dtype, attn)
    n_base = base_params(model)
    build_s = time.perf_counter() - t0
    examples = itdr_examples(args.sequences, cfg.vocab_size, args.median_len, args.max_len, seed=0)
    peak = peak_flops(device, args.peak_tflops)
    model = prepare_for_training(EvalConfig(model="benchmark", activation_checkpointing=args.activation_checkpointing,
                                            seed=0), model)
    leak = check_packing(model, examples)
    rows = []
    b = args.batch
    variants = [(f"train padded 1x{b} (paper)", "padded", 1, b), (f"train padded {b}x1 (plain)", "padded", b, 1),
                (f"train length-grouped {b}x1", "length-grouped", b, 1), (f"train packed {b}x1", "packed", b, 1)]
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name, batching, batch, accum in variants:
            r = train_variant(model, examples, device=device, dtype=dtype, batching=batching, batch=batch,
                              grad_accum=accum, warmup=args.warmup, steps=args.steps,
                              checkpointing=args.activation_checkpointing, n_base=n_base, model_cfg=cfg,
                              workdir=os.path.join(work, batching))
            results[name] = r
            mfu = r["flops_s"] / peak if peak else None
            rows.append((name, r["tok_s"], mfu, r["mem"], f"pad {r['pad_frac']:.0%}, {r['seconds']:.1f}s"))
    plain = results[variants[1][0]]["tok_s"]
    speedups = {name: results[name]["tok_s"] / plain for name, *_ in variants}

    if not args.skip_predict:
        model = model.merge_and_unload()  # inference on merged weights, as the paper did
        model.config.use_cache = True
        rng = random.Random(2)
        n_prompts = 16 if args.tiny else 64
        prompts = [[rng.randrange(10, cfg.vocab_size) for _ in range(rng.randint(args.max_len // 8, args.max_len // 2))]
                   for _ in range(n_prompts)]
        prompts.sort(key=len, reverse=True)
        new_tokens = 8 if args.tiny else 32
        g = generate_bench(model, prompts, batch=8, new_tokens=new_tokens, device=device)
        rows.append((f"predict generate (bs 8, {new_tokens} new)", g["tok_s"], None, g["mem"], f"{g['rows_s']:.2f} rows/s"))
        lk = likelihood_bench(model, prompts, options=10, option_len=24, vocab=cfg.vocab_size, device=device)
        rows.append(("predict likelihood (10 options)", lk["tok_s"], None, lk["mem"], f"{lk['rows_s']:.2f} rows/s"))

    dev_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"\ndevice: {dev_name} | dtype: {str(dtype).replace('torch.', '')} | attention: {attn} | "
          f"N (base, no input embedding) = {n_base / 1e9:.3f} B | peak "
          f"{peak / 1e12 if peak else float('nan'):.0f} TFLOP/s | model build {build_s:.1f}s | "
          f"packing check {leak:.1e} | examples median {args.median_len}, max {args.max_len} tokens")
    print(f"{'benchmark':<34} {'tokens/s':>12} {'vs plain':>9} {'MFU':>7} {'peak GiB':>9}  notes")
    print("-" * 100)
    for name, tok_s, mfu, mem, note in rows:
        mfu_s = f"{mfu:.1%}" if mfu is not None else "n/a"
        mem_s = f"{mem:.1f}" if not math.isnan(mem) else "n/a"
        speed = f"{speedups[name]:.2f}x" if name in speedups else ""
        print(f"{name:<34} {tok_s:>12.1f} {speed:>9} {mfu_s:>7} {mem_s:>9}  {note}")
    print(f"(training tokens/s = real, non-pad tokens; MFU counts linear + causal attention FLOPs of real tokens; "
          f"prediction tokens/s = prompt tokens) total {time.perf_counter() - t_all:.0f}s")


if __name__ == "__main__":
    main()
