"""LoRA SFT with plain ``transformers.Trainer``: loss on the response tokens only.

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
        report_to="none",
        remove_unused_columns=False,
        label_names=["labels"],
        ddp_find_unused_parameters=False,
        use_cpu=not torch.cuda.is_available(),  # also makes a CPU torchrun launch count as distributed
        dataloader_pin_memory=torch.cuda.is_available(),
    )


def train_lora(cfg: EvalConfig, model: Any, tokenizer: Any, fmt: PromptFormat,
               rows: Sequence[Mapping[str, Any]], output_dir: str) -> tuple[Any, dict[str, Any]]:
    """Fine-tune ``model`` with LoRA on ``rows``; save the adapter (+ tokenizer, card) to ``output_dir/adapter``.

    Returns the trained PEFT model and a summary (steps, tokens, seconds, loss).
    """
    from tqdm.auto import tqdm
    from transformers import Trainer
    from transformers.trainer_utils import get_last_checkpoint

    from .modeling import resolve_dtype

    dtype = resolve_dtype(cfg.precision)
    examples = [tokenize_example(tokenizer, r, fmt, cfg.cutoff_len) for r in tqdm(rows, desc="tokenize train")]
    if cfg.activation_checkpointing:
        model.enable_input_require_grads()
    use_cache = model.config.use_cache
    model.config.use_cache = False  # no KV cache while training
    model = init_lora(cfg, model)
    ckpt_dir = os.path.join(output_dir, "checkpoints")
    args = training_arguments(cfg, ckpt_dir, dtype)
    trainer = Trainer(model=model, args=args, train_dataset=examples,
                      data_collator=SFTCollator(tokenizer.pad_token_id))
    resume_from = get_last_checkpoint(ckpt_dir) if cfg.resume and os.path.isdir(ckpt_dir) else None
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


def write_model_card(adapter_dir: str, cfg: EvalConfig, info: Mapping[str, Any]) -> None:
    """README.md for the adapter: base model, data, recipe and training summary."""
    base = cfg.model
    hp = {k: v for k, v in config_to_dict(cfg).items() if k in {
        "lora_rank", "lora_alpha", "lora_dropout", "lora_target", "learning_rate", "lr_scheduler",
        "warmup_ratio", "epochs", "per_device_batch_size", "grad_accum", "cutoff_len", "precision",
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
