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


def load_tokenizer(path: str, trust_remote_code: bool = False, revision: str | None = None):
    from transformers import AutoTokenizer

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if revision:
        kwargs["revision"] = revision
    tok = AutoTokenizer.from_pretrained(path, **kwargs)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def _where(path: str) -> str:
    if os.path.isdir(path):
        return f"local folder {os.path.abspath(path)}"
    from .data import looks_local

    if looks_local(path):
        return f"{path} (no such local folder)"
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
    return f"the Hugging Face Hub{' (offline: HF_HUB_OFFLINE is set)' if offline else ''} and its cache"


def load_model(path: str, *, dtype, attn_implementation: str | None = None, trainable_adapter: bool = False,
               device: Any = None, model_kwargs: Any = None, trust_remote_code: bool = False) -> Loaded:
    """Load ``path``; if it is an adapter folder load its base model and apply the adapter.

    With a CUDA ``device`` the weights are loaded straight onto it (one full copy per process).
    ``model_kwargs`` (``--model-args``) go to ``from_pretrained`` last. A failure to load is an
    :class:`~itdr_eval.errors.EvalError` naming the model, where it was looked for and what to do.
    """
    from transformers import AutoModelForCausalLM

    from .errors import EvalError, first_line

    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": trust_remote_code}
    if device is not None and str(device).startswith("cuda"):
        kwargs["device_map"] = {"": str(device)}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    kwargs.update(dict(model_kwargs or {}))
    revision = kwargs.get("revision")
    if is_adapter(path):
        from peft import PeftConfig, PeftModel

        base = PeftConfig.from_pretrained(path).base_model_name_or_path
        try:
            model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
        except Exception as exc:
            raise EvalError(
                f"--model {path} is a LoRA adapter whose base model {base!r} cannot be loaded from {_where(base)} "
                f"({first_line(exc)}); download the base model or edit base_model_name_or_path in "
                f"{os.path.join(path, 'adapter_config.json')} to point at a local copy"
            ) from exc
        model = PeftModel.from_pretrained(model, path, is_trainable=trainable_adapter)
        tok_path = path if os.path.isfile(os.path.join(path, "tokenizer_config.json")) else base
        return Loaded(model, load_tokenizer(tok_path, trust_remote_code), base, path)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        tok = load_tokenizer(path, trust_remote_code, revision)
    except Exception as exc:
        raise EvalError(
            f"--model {path}: cannot load it from {_where(path)} ({first_line(exc)}); check the name, the "
            f"network (or HF_HUB_OFFLINE), --trust-remote-code for custom code, or pass a local folder"
        ) from exc
    return Loaded(model, tok, path, None)
