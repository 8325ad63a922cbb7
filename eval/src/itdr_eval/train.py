"""LoRA SFT with plain ``transformers.Trainer``: loss on the response tokens only.

A micro-batch is right-padded (:class:`SFTCollator`), optionally grouped by length, or packed
without padding (:func:`packed_collator`); all three give the same loss on the same examples.

Each example is ``prompt_ids + response_ids`` with labels ``-100`` on the prompt. When the pair
exceeds ``cutoff_len`` both are cut by :func:`infer_seqlen`, the rule of LLaMA-Factory's
supervised data processor (``llamafactory.data.processor.processor_utils.infer_seqlen``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .config import EvalConfig, config_to_dict
from .prompts import PromptFormat, encode, prompt_text, response_text

IGNORE_INDEX = -100


def infer_seqlen(source_len: int, target_len: int, cutoff_len: int) -> tuple[int, int]:
    """Kept (prompt, response) lengths under ``cutoff_len``, exactly as LLaMA-Factory computes them:
    a short response (< half the cutoff) is kept whole and the prompt cut; else a short prompt is kept
    whole and the response cut; else both are cut in proportion to their lengths."""
    if target_len * 2 < cutoff_len:  # truncate source
        max_target_len = cutoff_len
    elif source_len * 2 < cutoff_len:  # truncate target
        max_target_len = cutoff_len - source_len
    else:  # truncate both
        max_target_len = int(cutoff_len * (target_len / (source_len + target_len)))
    new_target_len = min(max_target_len, target_len)
    max_source_len = max(cutoff_len - new_target_len, 0)
    return min(max_source_len, source_len), new_target_len


def tokenize_example(tokenizer: Any, row: Mapping[str, Any], fmt: PromptFormat, cutoff_len: int) -> dict[str, list[int]]:
    prompt = prompt_text(tokenizer, row, fmt)
    p_ids = encode(tokenizer, prompt, fmt.add_special_tokens())
    r_ids = encode(tokenizer, response_text(tokenizer, row, fmt, row["output"], prompt), False)
    if len(p_ids) + len(r_ids) > cutoff_len:
        p_len, r_len = infer_seqlen(len(p_ids), len(r_ids), cutoff_len)
        p_ids, r_ids = p_ids[:p_len], r_ids[:r_len]
    return {"input_ids": p_ids + r_ids, "labels": [IGNORE_INDEX] * len(p_ids) + r_ids}


@dataclass
class SFTCollator:
    """Right-pads a batch; padded label positions are ``-100``."""

    pad_token_id: int

    def __call__(self, features: Sequence[Mapping[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for i, f in enumerate(features):
            n = len(f["input_ids"])
            ids[i, :n] = torch.tensor(f["input_ids"])
            labels[i, :n] = torch.tensor(f["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def packed_collator():
    """``--batching packed``: transformers' padding-free collator.

    The micro-batch becomes one row whose position ids restart at 0 for each example, with no
    attention mask: transformers then builds a block-diagonal causal mask (SDPA, eager) or runs
    FlashAttention's variable-length kernel, so no token attends across examples. Each example's
    first label becomes ``-100`` (a prompt token already), so no target crosses a boundary either;
    the loss therefore counts exactly the response tokens that :class:`SFTCollator` counts.
    """
    from transformers import DataCollatorWithFlattening

    return DataCollatorWithFlattening(return_position_ids=True, separator_id=IGNORE_INDEX)


def collator_for(cfg: EvalConfig, pad_token_id: int):
    return packed_collator() if cfg.batching == "packed" else SFTCollator(pad_token_id)


def check_packing(model: Any, examples: Sequence[Mapping[str, list[int]]], tolerance: float = 1e-3) -> float:
    """Refuse ``--batching packed`` on a model whose attention ignores the packed layout.

    Packing is only correct where the model builds its attention from position ids (transformers'
    mask utilities); an architecture with its own attention code would silently let examples
    attend to each other. Two short training examples are packed as ``[a, b]`` and as
    ``[a reversed, b]``: with the attention kept within each example, ``b``'s logits cannot change
    (masked keys contribute exact zeros, in any precision). Any change above ``tolerance`` stops the
    run before training. Returns the largest change found.
    """
    import torch

    from .errors import EvalError

    usable = sorted((e for e in examples if len(set(e["input_ids"])) > 1), key=lambda e: len(e["input_ids"]))[:2]
    if len(usable) < 2:
        return 0.0
    first, second = usable
    other = {"input_ids": first["input_ids"][::-1], "labels": first["labels"]}
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            tails = []
            for pair in ([first, second], [other, second]):
                batch = {k: v.to(device) for k, v in packed_collator()(pair).items() if k != "labels"}
                tails.append(model(**batch, use_cache=False).logits[0, len(first["input_ids"]):].float())
    finally:
        model.train(was_training)
    diff = float((tails[0] - tails[1]).abs().max())
    if not diff <= tolerance:
        raise EvalError(
            f"--batching packed: in a packed row, one training example's logits changed by {diff:.3g} when the "
            "example before it changed: this model's attention does not keep packed examples apart. "
            "Use --batching padded or length-grouped, or another --attn-implementation.")
    return diff


def lora_config(cfg: EvalConfig):
    from peft import LoraConfig

    target: Any = cfg.lora_target if cfg.lora_target == "all-linear" else [t.strip() for t in cfg.lora_target.split(",")]
    return LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=target, task_type="CAUSAL_LM")


def init_lora(cfg: EvalConfig, model: Any):
    """Wrap ``model`` with fresh LoRA weights drawn under ``--seed``.

    ``Trainer`` seeds only when it is built, after ``get_peft_model`` has already drawn the LoRA
    ``A`` matrices; seeding here makes the same seed give the same adapter.
    """
    from peft import get_peft_model
    from transformers import set_seed

    set_seed(cfg.seed)
    return get_peft_model(model, lora_config(cfg))


def prepare_for_training(cfg: EvalConfig, model: Any):
    """The base model made ready for :func:`make_trainer`: no KV cache, inputs that carry gradients
    under activation checkpointing, fresh LoRA weights."""
    if cfg.activation_checkpointing:
        model.enable_input_require_grads()
    model.config.use_cache = False  # no KV cache while training
    return init_lora(cfg, model)


def training_arguments(cfg: EvalConfig, checkpoint_dir: str, dtype):
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=checkpoint_dir,
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio
        num_train_epochs=cfg.epochs,
        bf16=dtype == torch.bfloat16,
        fp16=dtype == torch.float16,
        activation_checkpointing=cfg.activation_checkpointing,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        seed=cfg.seed,
        **_sampling(cfg),
        report_to="none",
        remove_unused_columns=False,
        label_names=["labels"],
        ddp_find_unused_parameters=False,
        use_cpu=not torch.cuda.is_available(),  # also makes a CPU torchrun launch count as distributed
        dataloader_pin_memory=torch.cuda.is_available(),
    )


def _sampling(cfg: EvalConfig) -> dict[str, Any]:
    """``--batching length-grouped`` in the spelling of the installed transformers (5.2x names it
    ``train_sampling_strategy``; earlier releases have the boolean ``group_by_length``)."""
    import dataclasses

    from transformers import TrainingArguments

    if cfg.batching != "length-grouped":
        return {}
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    if "train_sampling_strategy" in names:
        return {"train_sampling_strategy": "group_by_length"}
    return {"group_by_length": True}


def make_trainer(cfg: EvalConfig, model: Any, examples: Sequence[Mapping[str, list[int]]], pad_token_id: int,
                 checkpoint_dir: str):
    """The ``Trainer`` ``itdr-eval`` trains with: ``model`` already wrapped by :func:`init_lora`,
    ``examples`` from :func:`tokenize_example`. Shared with ``benchmarks/eval_gpu_lora.py`` so the
    benchmark measures this path and not a copy of it."""
    from transformers import Trainer

    from .modeling import resolve_dtype

    args = training_arguments(cfg, checkpoint_dir, resolve_dtype(cfg.precision))
    return Trainer(model=model, args=args, train_dataset=list(examples), data_collator=collator_for(cfg, pad_token_id))


def train_lora(cfg: EvalConfig, model: Any, tokenizer: Any, fmt: PromptFormat,
               rows: Sequence[Mapping[str, Any]], output_dir: str) -> tuple[Any, dict[str, Any]]:
    """Fine-tune ``model`` with LoRA on ``rows``; save the adapter (+ tokenizer, card) to ``output_dir/adapter``.

    Returns the trained PEFT model and a summary (steps, tokens, seconds, loss).
    """
    from tqdm.auto import tqdm
    from transformers.trainer_utils import get_last_checkpoint

    examples = [tokenize_example(tokenizer, r, fmt, cfg.cutoff_len) for r in tqdm(rows, desc="tokenize train")]
    use_cache = model.config.use_cache
    model = prepare_for_training(cfg, model)
    ckpt_dir = os.path.join(output_dir, "checkpoints")
    if cfg.batching == "packed":
        check_packing(model, examples)
    trainer = make_trainer(cfg, model, examples, tokenizer.pad_token_id, ckpt_dir)
    resume_from = get_last_checkpoint(ckpt_dir) if cfg.resume and os.path.isdir(ckpt_dir) else None
    if trainer.is_world_process_zero():
        write_recipe(output_dir, cfg)
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.perf_counter() - start
    info = {
        "examples": len(examples),
        "train_tokens_per_epoch": sum(len(e["input_ids"]) for e in examples),
        "response_tokens_per_epoch": sum(sum(t != IGNORE_INDEX for t in e["labels"]) for e in examples),
        "global_steps": int(result.global_step),
        "train_loss": float(result.training_loss),
        "seconds": seconds,
        "resumed_from": resume_from,
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }
    adapter_dir = os.path.join(output_dir, "adapter")
    trainer.save_model(adapter_dir)
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(adapter_dir)
        write_model_card(adapter_dir, cfg, info)
    model.config.use_cache = use_cache
    model.eval()
    return model, info


# the options that shape an adapter: a --resume that continues or reuses one must ask for the same
RECIPE = ("lora_rank", "lora_alpha", "lora_dropout", "lora_target", "learning_rate", "lr_scheduler", "warmup_ratio",
          "epochs", "per_device_batch_size", "batching", "grad_accum", "cutoff_len", "precision", "train_fraction",
          "max_train_samples", "seed", "prompt_format", "system_instruction")
RECIPE_FILE = "training_recipe.json"


def recipe(cfg: EvalConfig) -> dict[str, Any]:
    values = config_to_dict(cfg)
    return {k: values[k] for k in RECIPE}


def write_recipe(output_dir: str, cfg: EvalConfig) -> None:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, RECIPE_FILE), "w", encoding="utf-8") as fh:
        json.dump(recipe(cfg), fh, indent=2, sort_keys=True)


def check_recipe(output_dir: str, cfg: EvalConfig) -> None:
    """``--resume`` continues a checkpoint or reuses ``<output>/adapter``: refuse when this run asks for
    another recipe, or the results would label the adapter with settings it was not trained with.
    A folder from before the recipe was recorded is taken as it is."""
    from .errors import EvalError

    path = os.path.join(output_dir, RECIPE_FILE)
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as fh:
        stored = json.load(fh)
    wanted = json.loads(json.dumps(recipe(cfg)))
    differ = [k for k in RECIPE if k in stored and stored[k] != wanted[k]]
    if differ:
        was = ", ".join(f"{k}={stored[k]!r}" for k in differ)
        now = ", ".join(f"{k}={wanted[k]!r}" for k in differ)
        raise EvalError(f"--resume: {output_dir} was trained with {was}; this run asks for {now}. "
                        "Resume with the settings it was trained with, or train into another --output.")


def write_model_card(adapter_dir: str, cfg: EvalConfig, info: Mapping[str, Any]) -> None:
    """README.md for the adapter: base model, data, recipe and training summary."""
    base = cfg.model
    hp = {k: v for k, v in config_to_dict(cfg).items() if k in {
        "lora_rank", "lora_alpha", "lora_dropout", "lora_target", "learning_rate", "lr_scheduler",
        "warmup_ratio", "epochs", "per_device_batch_size", "batching", "grad_accum", "cutoff_len", "precision",
        "train_tasks", "train_fraction", "seed", "prompt_format"}}
    card = f"""---
base_model: {base}
library_name: peft
tags: [lora, recommendation, itdr, itdr-eval]
datasets: [{cfg.train_dataset or cfg.dataset}]
---

# LoRA adapter for {base} fine-tuned on ITDR

Trained with `itdr-eval` (LoRA SFT, loss on the response only) following the recipe of
*ITDR: An Instruction Tuning Dataset for Enhancing Large Language Models in Recommendations*
(arXiv 2508.05667).

Load it with `itdr-eval --model <this folder> ...`, or:

```python
from peft import AutoPeftModelForCausalLM
model = AutoPeftModelForCausalLM.from_pretrained("<this folder>")
```

## Training data
- dataset: `{cfg.train_dataset or cfg.dataset}` (revision: `{cfg.revision}`), split `train`
- subtasks: `{cfg.train_tasks or cfg.tasks}`, fraction {cfg.train_fraction}

## Hyperparameters
```json
{json.dumps(hp, indent=2)}
```

## Training summary
```json
{json.dumps(dict(info), indent=2, default=str)}
```
"""
    with open(os.path.join(adapter_dir, "README.md"), "w", encoding="utf-8") as fh:
        fh.write(card)
