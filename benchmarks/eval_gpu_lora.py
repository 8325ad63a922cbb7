#!/usr/bin/env python
"""GPU benchmark for itdr-eval: LoRA SFT throughput/MFU and prediction throughput on a
Qwen2.5-7B-shaped model with random weights (no download, no dataset).

What it measures (one table at the end):

* LoRA training, paper recipe (rank 8, alpha 16, all linear layers, lr 1e-4, bf16), on synthetic
  ITDR-like sequences (seeded lengths, loss on the last ~25% of each sequence = the response):
  - ``padded bs=1``: one sequence per forward (the paper's batch 1 x grad-accum 8; no padding),
  - ``padded bs=B``: a plain Trainer-style loop, B sequences right-padded to the longest,
  - ``packed L``: padding-free packing, sequences concatenated into rows of <= L tokens with
    ``position_ids`` restarting at 0 for each sequence and no attention mask, so transformers
    builds a block-diagonal (per-sequence causal) mask (SDPA, or FlashAttention-2 varlen if the
    ``flash_attention_2`` kernel is available).
  Reported: real (non-pad) tokens/s, MFU, peak GPU memory.
* Prediction: greedy ``generate`` on left-padded batches (prompt tokens/s incl. decoding time) and
  likelihood scoring (10 options per prompt in one batched forward with ``logits_to_keep``).

MFU = tokens/s x F / peak, F = 4 N FLOPs per token for LoRA without activation checkpointing
(forward 2N + backward through activations 2N; no weight gradients for frozen weights) and 6 N with
it (one more forward); N = base parameters without the input embedding (the lm_head counts).
Attention score FLOPs are not counted. Peak dense bf16: H100 989, H200 989 TFLOP/s.

Runs in well under 8 minutes on one H100/H200. ``--tiny`` runs a small config on CPU as a smoke
check. Only torch, transformers, peft and accelerate are imported.

    python benchmarks/eval_gpu_lora.py            # GPU, full-size model
    python benchmarks/eval_gpu_lora.py --tiny     # CPU smoke check
"""

from __future__ import annotations

import argparse
import math
import random
import time

import torch

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0}


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


def add_lora(model, checkpointing: bool):
    from peft import LoraConfig, get_peft_model

    if checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.2x name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    cfg = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
    return get_peft_model(model, cfg)


# ------------------------------------------------------------------------------------ data


def synthetic_sequences(n: int, vocab: int, max_len: int, seed: int) -> list[tuple[list[int], int]]:
    """(token ids, prompt length): lognormal lengths (median ~ max_len/4) like ITDR prompts, response 25%."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = int(min(max_len, max(32, rng.lognormvariate(math.log(max_len / 4), 0.6))))
        prompt = max(1, int(length * 0.75))
        out.append(([rng.randrange(10, vocab) for _ in range(length)], prompt))
    return out


def padded_batches(seqs, batch: int, device):
    for i in range(0, len(seqs) - batch + 1, batch):
        chunk = seqs[i:i + batch]
        width = max(len(s) for s, _ in chunk)
        ids = torch.zeros((batch, width), dtype=torch.long)
        mask = torch.zeros((batch, width), dtype=torch.long)
        labels = torch.full((batch, width), -100, dtype=torch.long)
        for j, (s, p) in enumerate(chunk):
            ids[j, :len(s)] = torch.tensor(s)
            mask[j, :len(s)] = 1
            labels[j, p:len(s)] = torch.tensor(s[p:])
        yield ({"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device), "use_cache": False},
               int(mask.sum()), batch * width)


def packed_batches(seqs, pack_len: int, device):
    row: list[int] = []
    pos: list[int] = []
    lab: list[int] = []

    def emit():
        def t(x):
            return torch.tensor([x], dtype=torch.long, device=device)

        # use_cache=False matters: transformers only derives the block-diagonal mask from
        # position_ids when there is no attention_mask and no KV cache
        return ({"input_ids": t(row), "position_ids": t(pos), "labels": t(lab), "use_cache": False}, len(row), len(row))

    for s, p in seqs:
        s = s[:pack_len]
        if row and len(row) + len(s) > pack_len:
            yield emit()
            row, pos, lab = [], [], []
        row += s
        pos += list(range(len(s)))
        lab += [-100] * p + s[p:]  # prompt masked; so is each sequence's first token (no cross-sequence target)
    if row:
        yield emit()


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


def train_bench(model, batches, *, device, grad_accum: int, warmup: int, steps: int) -> dict:
    """Optimizer steps of ``grad_accum`` micro-batches; ``warmup`` steps untimed, ``steps`` timed."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    model.train()
    reset_mem(device)
    it = iter(batches)
    real = padded = 0
    start = None
    for step in range(warmup + steps):
        if step == warmup:
            sync(device)
            start, real, padded = time.perf_counter(), 0, 0
        for _ in range(grad_accum):
            try:
                batch, n_real, n_pad = next(it)
            except StopIteration:
                raise SystemExit("not enough synthetic data: raise --sequences") from None
            loss = model(**batch).loss / grad_accum
            loss.backward()
            real += n_real
            padded += n_pad
        opt.step()
        opt.zero_grad(set_to_none=True)
    sync(device)
    seconds = time.perf_counter() - start
    model.eval()
    return {"tok_s": real / seconds, "padded_tok_s": padded / seconds, "pad_frac": 1 - real / max(padded, 1),
            "mem": peak_mem_gib(device), "seconds": seconds}


def packing_check(model, seqs, device) -> float:
    """Max relative difference between per-sequence summed losses computed packed vs one by one."""
    import torch.nn.functional as F

    def seq_losses(logits, labels):
        return F.cross_entropy(logits[0, :-1].float(), labels[0, 1:], ignore_index=-100, reduction="none")

    sample = seqs[:3]
    with torch.no_grad():
        batch, _, _ = next(packed_batches(sample, sum(len(s) for s, _ in sample), device))
        packed = seq_losses(model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits,
                            batch["labels"])
        worst, offset = 0.0, 0
        for s, p in sample:
            ids = torch.tensor([s], device=device)
            lab = torch.tensor([[-100] * p + s[p:]], device=device)
            alone = seq_losses(model(input_ids=ids, use_cache=False).logits, lab).sum()
            mine = packed[offset:offset + len(s) - 1].sum()  # targets inside this sequence
            worst = max(worst, abs(float(mine - alone)) / max(abs(float(alone)), 1e-6))
            offset += len(s)
    return worst


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
    for key, tflops in PEAK_BF16_TFLOPS.items():
        if key in name:
            return tflops * 1e12
    return None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiny", action="store_true", help="small config on CPU (smoke check)")
    ap.add_argument("--max-len", type=int, default=2048, help="longest training sequence (paper cutoff 2048)")
    ap.add_argument("--micro-batch", type=int, default=2, help="padded baseline micro-batch")
    ap.add_argument("--pack-len", type=int, default=4096, help="tokens per packed row")
    ap.add_argument("--grad-accum", type=int, default=2, help="micro-batches per optimizer step in the benchmark")
    ap.add_argument("--steps", type=int, default=6, help="timed optimizer steps per training variant")
    ap.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps per training variant")
    ap.add_argument("--sequences", type=int, default=400, help="synthetic training sequences")
    ap.add_argument("--activation-checkpointing", action="store_true", help="recompute activations (MFU uses 6N)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="override the peak bf16 TFLOP/s of the device")
    args = ap.parse_args(argv)

    t_all = time.perf_counter()
    if args.tiny:
        device, dtype = torch.device("cpu"), torch.float32
        args.max_len, args.pack_len, args.steps, args.sequences = 256, 1024, 2, 120
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
    seqs = synthetic_sequences(args.sequences, cfg.vocab_size, args.max_len, seed=0)
    rel_diff = packing_check(model, [(s[:64], min(p, 48)) for s, p in seqs], device)

    factor = 6 if args.activation_checkpointing else 4
    peak = peak_flops(device, args.peak_tflops)
    model = add_lora(model, args.activation_checkpointing)
    rows = []
    variants = [
        ("train padded bs=1", lambda s: padded_batches(s, 1, device)),
        (f"train padded bs={args.micro_batch}", lambda s: padded_batches(s, args.micro_batch, device)),
        (f"train packed {args.pack_len}", lambda s: packed_batches(s, args.pack_len, device)),
    ]
    for name, make in variants:
        r = train_bench(model, make(seqs), device=device, grad_accum=args.grad_accum, warmup=args.warmup, steps=args.steps)
        mfu = r["tok_s"] * factor * n_base / peak if peak else None
        rows.append((name, r["tok_s"], mfu, r["mem"], f"pad {r['pad_frac']:.0%}, {r['seconds']:.1f}s"))

    model = model.merge_and_unload()  # inference on merged weights, as the paper did
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
          f"N (base, no input embedding) = {n_base / 1e9:.3f} B | MFU uses {factor}N FLOPs/token, peak "
          f"{peak / 1e12 if peak else float('nan'):.0f} TFLOP/s | model build {build_s:.1f}s | "
          f"packing check max rel. diff {rel_diff:.2e}")
    print(f"{'benchmark':<34} {'tokens/s':>12} {'MFU':>7} {'peak GiB':>9}  notes")
    print("-" * 90)
    for name, tok_s, mfu, mem, note in rows:
        mfu_s = f"{mfu:.1%}" if mfu is not None else "n/a"
        mem_s = f"{mem:.1f}" if not math.isnan(mem) else "n/a"
        print(f"{name:<34} {tok_s:>12.1f} {mfu_s:>7} {mem_s:>9}  {note}")
    print(f"(training tokens/s = real, non-pad tokens; prediction tokens/s = prompt tokens) total {time.perf_counter() - t_all:.0f}s")


if __name__ == "__main__":
    main()
