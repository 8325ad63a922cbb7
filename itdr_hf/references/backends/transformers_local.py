"""A local ``transformers`` causal LM, prompted through its chat template.

For small builds and for checking prompts without a server. torch and transformers are
imported on first use, so the CLI stays fast and the package does not depend on them. One
request runs at a time: for tens of thousands of references, serve the model with vLLM and
use the ``openai`` writer, which batches on the server.

Greedy decoding at temperature 0; a sampled retry (after a rejected answer) seeds torch from
the prompt and parameters, so the same build draws the same sample.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from ..config import ReferenceConfig
from . import Backend, BackendError, Completion, register_backend


@register_backend("transformers")
class TransformersBackend(Backend):
    name = "transformers"
    max_concurrency = 1

    def __init__(self, config: ReferenceConfig) -> None:
        super().__init__(config)
        self._lock = threading.Lock()
        self._model = None
        self._tokenizer = None

    def _load(self) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise BackendError(f"--reference-writer transformers needs torch and transformers ({exc}); "
                               "pip install torch transformers") from None
        name = self.config.model
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(name)
            model = AutoModelForCausalLM.from_pretrained(name, dtype="auto")
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load the reference model {name!r}: {exc}") from None
        if self._tokenizer.chat_template is None:
            raise BackendError(f"the tokenizer of {name!r} has no chat template; use an instruction-tuned model")
        device = self.config.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self._model = model.to(device).eval()

    def complete(self, messages: list[dict], params: dict[str, Any]) -> Completion:
        import torch

        with self._lock:
            if self._model is None:
                self._load()
            tokenizer, model = self._tokenizer, self._model
            inputs = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            ).to(model.device)
            sample = params["temperature"] > 0
            options: dict[str, Any] = {"max_new_tokens": params["max_tokens"], "do_sample": sample}
            if sample:
                options.update(temperature=params["temperature"], top_p=params["top_p"])
                torch.manual_seed(_seed(messages, params))
            pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
            with torch.inference_mode():
                output = model.generate(**inputs, pad_token_id=pad, **options)
        new = output[0, inputs["input_ids"].shape[1]:]
        stopped = len(new) > 0 and int(new[-1]) in _eos_ids(model, tokenizer)
        truncated = len(new) >= params["max_tokens"] and not stopped
        return Completion(tokenizer.decode(new, skip_special_tokens=True), truncated=truncated)

    def close(self) -> None:
        self._model = None
        self._tokenizer = None


def _eos_ids(model, tokenizer) -> set[int]:
    ids = model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids]) - {None}
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def _seed(messages: list[dict], params: dict[str, Any]) -> int:
    payload = json.dumps([messages, params], sort_keys=True).encode()
    return int.from_bytes(hashlib.blake2b(payload, digest_size=4).digest(), "little")
