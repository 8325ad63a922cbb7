"""Run options: one frozen, keyword-only dataclass; the argparse CLI is derived from it.

Every option's help text is written once, in the field's metadata. Defaults follow the paper's
training recipe (SPEC §4: LoRA SFT, lr 1e-4, cosine, 2 epochs, bf16, batch 1 x 8, rank 8,
alpha 16, dropout 0, all linear layers, cutoff 2048, loss on the response only).

This module imports only the standard library so that ``itdr-eval --help`` is instant.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from dataclasses import dataclass, field
from typing import Any

# issue 17: --backend openai and its options
from .backends.options import BackendOptions, redact_url, validate_backend


def _opt(default: Any, help: str, choices: tuple[str, ...] | None = None, required: bool = False):
    meta: dict[str, Any] = {"help": help}
    if choices is not None:
        meta["choices"] = choices
    if required:
        meta["required"] = True
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class EvalConfig(BackendOptions):  # backend options (--backend, --base-url, ...) in backends/options.py
    """Everything one ``itdr-eval`` run needs; stored verbatim in ``results.json``."""

    # --- what to run on -------------------------------------------------------------------
    model: str = _opt(
        "",
        "Base model (Hub id or local folder), or a saved LoRA adapter folder "
        "(detected by adapter_config.json: its base model is loaded and the adapter applied). "
        "'baseline:NAME' scores a model-free baseline instead (random, first, popularity, global_mean, "
        "user_mean, item_mean, majority, medoid); may be omitted with --baselines.",
    )
    dataset: str = _opt(
        "itdr",
        "ITDR dataset: a Hub repo id (<org>/itdr) or a local build folder (Parquet + README "
        "with a `configs:` section, or <config>/<split>-*.parquet). For the paper's "
        "'w/o task description' ablation pass the folder/repo of a build made without task "
        "descriptions.",
    )
    revision: str | None = _opt(None, "Dataset revision (tag, branch or commit) for a Hub dataset.")
    train_dataset: str | None = _opt(
        None, "Dataset to fine-tune on when it differs from --dataset (default: --dataset)."
    )
    tasks: str = _opt(
        "all",
        "Subtasks to score: comma list of config names or abbreviations (rp,tkr,cdr,nir,uap,ir,tui), "
        "'all', 'uii', 'uiu'; '-name' removes one (e.g. all,-ir). A group scores the subtasks the dataset "
        "has (a one-source build has no cross-domain cells; results.json lists the skipped ones in "
        "tasks_skipped); a subtask named on its own must exist.",
    )
    subset: str = _opt(
        "eval",
        "Rows to score: 'eval' = the fixed evaluation subset (eval_subset true), 'test' = the whole test split.",
        choices=("eval", "test"),
    )
    limit: int | None = _opt(None, "Score at most this many rows per (subtask, source) cell (smoke runs).")
    output: str = _opt("runs/itdr-eval", "Output folder (predictions.jsonl, results.json/.md/.png, adapter/).")
    compare: str | None = _opt(
        None,
        "Another run folder whose results are shown beside this run's (refused when it was scored on "
        "another dataset revision/content or subset, unless --force).",
    )
    summary: str = _opt(
        "paper",
        "Summary score: 'paper' = mean over the metric columns of each root (UII: TKR's 3, CDR's 3, NIR's "
        "1, RP's 1, each averaged over its sources - our reading of the paper's pUII, fitted to its "
        "published values); 'cells' = mean over (subtask, source) cells.",
        choices=("paper", "cells"),
    )
    force: bool = _opt(
        False,
        "Go ahead anyway: --compare across dataset revisions/subsets, fine-tuning a >1B-parameter model on CPU.",
    )
    debug: bool = _opt(False, "Show the full traceback of an error instead of one line.")

    # --- fine-tuning ----------------------------------------------------------------------
    finetune: str = _opt(
        "auto",
        "'lora' = LoRA SFT on the train split before scoring; 'none' = score the model as given; "
        "'auto' = 'lora' for a base model, 'none' for a saved adapter folder.",
        choices=("auto", "none", "lora"),
    )
    train_tasks: str = _opt(
        "",
        "Subtasks to train on (same syntax as --tasks; empty = same as --tasks). Paper studies: "
        "'all,-top_k_recommendation' (leave one out), 'uii', 'uiu'.",
    )
    train_fraction: float = _opt(1.0, "Fraction of each subtask's train split to use (seeded sample).")
    max_train_samples: int | None = _opt(None, "Cap on training rows per subtask (smoke runs).")
    resume: bool = _opt(
        False,
        "Resume: continue training from the last checkpoint (or skip training when the adapter "
        "exists) and skip ids already in predictions.jsonl. Only predictions made with the same settings "
        "(predictions.fingerprint.json) continue; without --resume a folder with predictions is refused.",
    )
    prompt_format: str = _opt(
        "auto",
        "'chat' = the tokenizer's chat template (prompt = messages[0], response = assistant turn); "
        "'alpaca' = 'instruction\\ninput\\n\\n' + output + eos (LLaMA-Factory's join); 'auto' = chat when the tokenizer has a template.",
        choices=("auto", "chat", "alpaca"),
    )
    lora_rank: int = _opt(8, "LoRA rank r.")
    lora_alpha: float = _opt(16.0, "LoRA alpha (LLaMA-Factory default 2r).")
    lora_dropout: float = _opt(0.0, "LoRA dropout.")
    lora_target: str = _opt("all-linear", "LoRA target modules: 'all-linear' or a comma list of module names.")
    learning_rate: float = _opt(1e-4, "Peak learning rate.")
    lr_scheduler: str = _opt("cosine", "Learning-rate schedule (transformers SchedulerType name).")
    warmup_ratio: float = _opt(0.0, "Warm-up as a fraction of training steps, in [0, 1).")
    epochs: float = _opt(2.0, "Training epochs.")
    per_device_batch_size: int = _opt(1, "Training batch size per device.")
    batching: str = _opt(
        "padded",
        "How a training micro-batch is laid out. 'padded' = right-padded to its longest example "
        "(LLaMA-Factory's default; the paper's batch of 1 has no padding); 'length-grouped' = padded, "
        "with examples of similar length sampled together; 'packed' = padding-free: the micro-batch is "
        "one row, position ids restart per example and the attention stays within each example, so the "
        "loss and gradients equal 'padded' on the same examples while no compute goes to padding. "
        "Matters with --per-device-batch-size > 1 (e.g. 8 x 1 instead of 1 x 8 on a GPU).",
        choices=("padded", "length-grouped", "packed"),
    )
    grad_accum: int = _opt(8, "Gradient accumulation steps.")
    cutoff_len: int = _opt(2048, "Training sequence cutoff in tokens (prompt + response).")
    precision: str = _opt(
        "auto", "'auto' = bf16 when CUDA supports it, else fp32.", choices=("auto", "bf16", "fp16", "fp32")
    )
    activation_checkpointing: bool = _opt(False, "Recompute activations in the backward pass to save memory.")
    attn_implementation: str | None = _opt(None, "Attention kernel passed to from_pretrained (sdpa, flash_attention_2, eager).")
    model_args: str = _opt(
        "",
        "Extra from_pretrained keyword arguments as key=value pairs, e.g. "
        "'revision=main,attn_implementation=sdpa,dtype=bfloat16' (dtype overrides --precision).",
    )
    trust_remote_code: bool = _opt(False, "Allow the model's own code from the Hub (from_pretrained trust_remote_code).")
    device: str = _opt(
        "auto",
        "Device for a single-process run: 'auto' (CUDA when available, else CPU), 'cpu', 'cuda', 'cuda:1', 'mps'. "
        "Multi-process launches place each rank on its own device.",
    )
    save_steps: int = _opt(500, "Save a checkpoint every this many optimizer steps.")
    save_total_limit: int = _opt(2, "Keep at most this many checkpoints.")
    logging_steps: int = _opt(10, "Log the training loss every this many steps.")
    seed: int = _opt(42, "Seed for sampling the training fraction, shuffling and initialisation.")

    # --- prediction -----------------------------------------------------------------------
    predict_mode: str = _opt(
        "generate",
        "'generate' = greedy decoding then parsing; 'likelihood' = closed-set answers (RP ratings, "
        "NIR choice, TKR/CDR ranking) scored by the model's log-likelihood of each option "
        "(UAP/IR/TUI are always generated); 'constrained' = greedy decoding restricted to valid answers "
        "(a prefix trie over the candidates' / rating values' token ids; one title at a time, no repeats).",
        choices=("generate", "likelihood", "constrained"),
    )
    batch_size: str = _opt(
        "8",
        "Prediction batch size (prompts per generate call), or 'auto': start at 64 and halve on CUDA "
        "out-of-memory (also 'auto:N' to start at N).",
    )
    max_length: int = _opt(8192, "Longest prompt in tokens at prediction; longer prompts keep their last tokens.")
    max_new_tokens: str = _opt(
        "",
        "Per-task generation budget overrides, e.g. 'rp=8,tkr=512' (defaults: rp 8, tkr/cdr 512, nir 64, uap 96, ir/tui 256).",
    )
    gen_kwargs: str = _opt(
        "",
        "Generation overrides on top of greedy decoding with no penalties, as key=value pairs or a JSON "
        "object, e.g. 'repetition_penalty=1.05' or 'do_sample=true,temperature=0.7'. Nothing is inherited "
        "from the model's own generation_config; the settings used are recorded in results.json.",
    )
    likelihood_norm: str = _opt(
        "mean",
        "How an option's token log-probabilities are combined: 'mean' (length-normalised) or 'sum'.",
        choices=("mean", "sum"),
    )
    fuzzy_threshold: float = _opt(
        85.0, "Minimum rapidfuzz ratio (0-100) for matching a generated title to a candidate after exact matching fails."
    )
    bleu_tokenize: str = _opt("13a", "sacrebleu tokenizer for BLEU-1/2 (13a, intl, zh, char, none, ...).")
    rouge_stemmer: bool = _opt(True, "Porter-stem words before ROUGE (rouge_score use_stemmer).")
    system_instruction: str | None = _opt(
        None, "System message before every prompt (chat) or first paragraph (alpaca); default none, as in the paper."
    )
    predict_only: bool = _opt(False, "Write predictions.jsonl and stop, without scoring.")
    chart: bool = _opt(True, "Write results.png.")

    # --- interpretability (issue 12: baselines, uncertainty, candidate orders) ---------------
    baselines: bool = _opt(
        False,
        "Also score every model-free baseline on the same rows (random with its exact expectation, "
        "first, popularity, RP means, UAP majority, IR/TUI medoid); results.md shows them beside the model.",
    )
    baseline_draws: int = _opt(1000, "Seeded draws per row in the random baseline's simulation.")
    bootstrap_resamples: int = _opt(
        1000, "Bootstrap resamples for the 95%% intervals and standard errors (0 = none; seeded by --seed)."
    )
    candidate_orders: int = _opt(
        0,
        "Score every TKR/CDR/NIR row again under this many seeded permutations of its candidates "
        "(prompt order only; gold tracked by title): mean +- sd over orders and a position-bias table (0 = off).",
    )


# ------------------------------------------------------------------------------------------
# argparse derivation


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser(cls: type = EvalConfig) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with one option per field of ``cls`` (help text from metadata)."""
    parser = argparse.ArgumentParser(
        prog="itdr-eval",
        description="Fine-tune (LoRA) and score an LLM on ITDR: predictions.jsonl, results.json, results.md, results.png.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        kwargs: dict[str, Any] = {"help": f.metadata.get("help", ""), "dest": f.name}
        if hint is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
            kwargs["default"] = f.default
        else:
            base = _base_type(hint)
            kwargs["type"] = base
            kwargs["default"] = None if f.metadata.get("required") else f.default
            if "choices" in f.metadata:
                kwargs["choices"] = f.metadata["choices"]
            if f.metadata.get("required"):
                kwargs["required"] = True
        parser.add_argument(_flag(f.name), **kwargs)
    return parser


def _base_type(hint: Any) -> type:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def parse_config(argv: list[str] | None = None) -> EvalConfig:
    """Parse command-line arguments into a validated :class:`EvalConfig`."""
    ns = build_parser().parse_args(argv)
    return validate(EvalConfig(**vars(ns)))


def validate(cfg: EvalConfig) -> EvalConfig:
    """Raise ``ValueError`` on inconsistent options; return ``cfg`` unchanged otherwise."""
    if not cfg.model and not cfg.baselines:
        raise ValueError("--model is required (or --baselines for the model-free baselines alone)")
    if cfg.model.startswith("baseline:"):
        from .baselines import parse_baseline_name

        parse_baseline_name(cfg.model)
    if cfg.bootstrap_resamples < 0 or cfg.candidate_orders < 0 or cfg.baseline_draws < 0:
        raise ValueError("--bootstrap-resamples, --candidate-orders and --baseline-draws must be >= 0")
    if not 0.0 < cfg.train_fraction <= 1.0:
        raise ValueError("--train-fraction must be in (0, 1]")
    if not 0.0 <= cfg.warmup_ratio < 1.0:
        raise ValueError("--warmup-ratio must be in [0, 1)")
    if not 0.0 <= cfg.fuzzy_threshold <= 100.0:
        raise ValueError("--fuzzy-threshold must be in [0, 100]")
    if cfg.compare and not os.path.isfile(os.path.join(cfg.compare, "results.json")):
        raise ValueError(f"--compare {cfg.compare}: no results.json there")
    batch_size_spec(cfg.batch_size)
    model_kwargs(cfg.model_args)
    from .generation import parse_gen_kwargs

    parse_gen_kwargs(cfg.gen_kwargs)
    validate_backend(cfg)
    return cfg


def batch_size_spec(spec: str | int) -> tuple[int, bool]:
    """``--batch-size``: (starting batch size, whether it backs off on out-of-memory)."""
    text = str(spec).strip().lower()
    auto = text.startswith("auto")
    number = text.partition(":")[2] if auto else text
    try:
        value = int(number) if number else 64
    except ValueError:
        raise ValueError(f"--batch-size {spec!r}: expected a positive integer, 'auto' or 'auto:N'") from None
    if value < 1:
        raise ValueError(f"--batch-size {spec!r}: must be at least 1")
    return value, auto


def model_kwargs(spec: str) -> dict[str, Any]:
    """``--model-args key=value,...`` as from_pretrained keyword arguments (true/false/numbers/null parsed)."""
    out: dict[str, Any] = {}
    for item in (s.strip() for s in (spec or "").split(",") if s.strip()):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--model-args item {item!r} is not key=value")
        low = value.strip().lower()
        parsed: Any = {"true": True, "false": False, "none": None, "null": None}.get(low, value.strip())
        if isinstance(parsed, str):
            for cast in (int, float):
                try:
                    parsed = cast(parsed)
                    break
                except ValueError:
                    pass
        out[key.strip()] = parsed
    return out


def config_to_dict(cfg: EvalConfig) -> dict[str, Any]:
    out = dataclasses.asdict(cfg)
    out["base_url"] = redact_url(out["base_url"])  # never a URL's credentials or query in results
    return out
