"""The explicit generation configuration used for prediction.

``model.generate`` fills every field left ``None`` from the model's own ``generation_config``
(Qwen2.5-Instruct ships ``repetition_penalty=1.05``, others ``no_repeat_ngram_size`` or sampling
flags). A penalty on repeats also penalises the candidate titles an answer must copy, so
prediction never inherits them: every field that changes greedy decoding is set here, and only
``--gen-kwargs`` can change it. The resolved dict is recorded in ``results.json``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# Greedy decoding with every logits processor that a model's generation_config could switch on
# set to its neutral value (None would be filled from the model's generation_config).
GREEDY: dict[str, Any] = {
    "do_sample": False,
    "num_beams": 1,
    "num_beam_groups": 1,
    "temperature": 1.0,
    "top_p": 1.0,
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "length_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0,
    "min_new_tokens": 0,
    "renormalize_logits": False,
    "forced_bos_token_id": -1,
    "forced_eos_token_id": -1,
}


# Sampling filters, neutral; set only when --gen-kwargs turns sampling on (transformers warns about
# them under greedy decoding, where they do nothing).
SAMPLING_NEUTRAL: dict[str, Any] = {"top_k": 0, "min_p": 0.0, "typical_p": 1.0, "epsilon_cutoff": 0.0, "eta_cutoff": 0.0}


def parse_gen_kwargs(spec: str) -> dict[str, Any]:
    """``--gen-kwargs``: a JSON object, or ``key=value`` pairs separated by commas (values parsed as JSON
    when they are JSON, e.g. ``repetition_penalty=1.05,do_sample=true,temperature=0.7``)."""
    spec = (spec or "").strip()
    if not spec:
        return {}
    if spec.startswith("{"):
        try:
            out = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--gen-kwargs is not valid JSON: {exc}") from None
        if not isinstance(out, dict):
            raise ValueError("--gen-kwargs JSON must be an object")
        return out
    out: dict[str, Any] = {}
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--gen-kwargs item {item!r} is not key=value")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def generation_settings(gen_kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The recorded generation settings: :data:`GREEDY` updated by ``gen_kwargs`` (no token ids, no budget)."""
    out = dict(GREEDY)
    if (gen_kwargs or {}).get("do_sample"):
        out.update(SAMPLING_NEUTRAL)  # sampling asked for: still nothing inherited from the model
    out.update(dict(gen_kwargs or {}))
    return out


def generation_config(max_new_tokens: int, pad_token_id: int | None, eos_token_id: Sequence[int] | int | None,
                      gen_kwargs: Mapping[str, Any] | None = None):
    """A ``transformers.GenerationConfig`` with every decoding field explicit (see module docstring)."""
    from transformers import GenerationConfig

    settings = generation_settings(gen_kwargs)
    if "forced_bos_token_id" in settings and settings["forced_bos_token_id"] == -1:
        settings["forced_bos_token_id"] = None
    if "forced_eos_token_id" in settings and settings["forced_eos_token_id"] == -1:
        settings["forced_eos_token_id"] = None
    return GenerationConfig(max_new_tokens=max_new_tokens, pad_token_id=pad_token_id,
                            eos_token_id=list(eos_token_id) if isinstance(eos_token_id, (list, tuple)) else eos_token_id,
                            **settings)


@contextlib.contextmanager
def no_inherited_generation_config(model: Any) -> Iterator[None]:
    """Within the block the model's ``generation_config`` is transformers' plain default, so list-valued
    processors (``bad_words_ids``, ``suppress_tokens``, ``sequence_bias``, ...) that cannot be set to a
    neutral value explicitly are not inherited either."""
    from transformers import GenerationConfig

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    saved = getattr(base, "generation_config", None)
    base.generation_config = GenerationConfig()
    try:
        yield
    finally:
        base.generation_config = saved
