"""Model and tokenizer loading: a base model, or a saved LoRA adapter on top of its base model."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


def is_adapter(path: str) -> bool:
    """True when ``path`` is a local folder holding a PEFT adapter (``adapter_config.json``)."""
    return os.path.isfile(os.path.join(path, "adapter_config.json"))


def resolve_dtype(precision: str):
    """``auto`` = bf16 when CUDA supports it, else fp32."""
    import torch

    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    base_model: str
    adapter: str | None


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(path: str, *, dtype, attn_implementation: str | None = None, trainable_adapter: bool = False,
               device: Any = None) -> Loaded:
    """Load ``path``; if it is an adapter folder load its base model and apply the adapter.

    With a CUDA ``device`` the weights are loaded straight onto it (one full copy per process).
    """
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype}
    if device is not None and str(device).startswith("cuda"):
        kwargs["device_map"] = {"": str(device)}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if is_adapter(path):
        from peft import PeftConfig, PeftModel

        base = PeftConfig.from_pretrained(path).base_model_name_or_path
        model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
        model = PeftModel.from_pretrained(model, path, is_trainable=trainable_adapter)
        tok_path = path if os.path.isfile(os.path.join(path, "tokenizer_config.json")) else base
        return Loaded(model, load_tokenizer(tok_path), base, path)
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    return Loaded(model, load_tokenizer(path), path, None)
