"""The bridge between backends and the existing prediction code.

:class:`LocalBackend` puts the in-process :class:`~itdr_eval.predict.Predictor` behind the
:class:`~itdr_eval.backends.Backend` interface; :class:`BackendPredictor` goes the other way and
lets ``predict.predict_rows`` (and ``Predictor.likelihood_record``) drive any backend, so prompt
rendering, budgets, option lists, parsing and scoring stay one piece of code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..predict import Predictor
from ..prompts import PromptFormat, encode, prompt_text, user_content
from . import Backend, BackendError, GenerationSettings, Prompt


class LocalBackend(Backend):
    """The transformers model in this process, through the existing :class:`Predictor`."""

    name = "local"

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor

    def generate(self, prompts: Sequence[Prompt], settings: GenerationSettings) -> list[str]:
        if settings.temperature != 0.0:
            raise BackendError("the local backend decodes greedily only (temperature 0)")
        return self.predictor.generate([list(p.ids or ()) for p in prompts], settings.max_new_tokens)

    def loglikelihood(self, prompt: Prompt, continuations: Sequence[str], norm: str = "sum") -> list[float]:
        pred = self.predictor
        if pred.likelihood_norm != norm:
            pred = dataclasses.replace(pred, likelihood_norm=norm)
        return pred.option_scores(list(prompt.ids or ()), continuations)


@dataclass
class BackendPredictor(Predictor):
    """A :class:`Predictor` whose model is any :class:`Backend` (``tokenizer`` may be ``None``
    for generation against a server that renders chat prompts itself)."""

    backend: Backend = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.tokenizer is not None:
            super().__post_init__()
        self.last_cut = []

    def prompt_ids(self, row: Mapping[str, Any]) -> tuple[str, Prompt]:  # type: ignore[override]
        """The prompt's text (hashed into ``prompt_hash``) and the :class:`Prompt` sent. Without a
        tokenizer a chat prompt's text is its messages as JSON: what the server is sent."""
        import json

        system = ({"role": "system", "content": self.fmt.system},) if self.fmt.system else ()
        messages = (*system, {"role": "user", "content": user_content(row)})
        if self.tokenizer is None:
            if self.fmt.kind == "alpaca":
                text = prompt_text(None, row, self.fmt)
                return text, Prompt(messages, text)
            return json.dumps(messages, ensure_ascii=False), Prompt(messages, "")
        text = prompt_text(self.tokenizer, row, self.fmt)
        ids = encode(self.tokenizer, text, self.fmt.add_special_tokens())[-self.max_length:]
        return text, Prompt(messages, text, tuple(ids))

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int) -> list[str]:  # type: ignore[override]
        texts = self.backend.generate(prompts, GenerationSettings(max_new_tokens=max_new_tokens))
        # the cut-off flag needs the server's finish_reason, which the backend does not pass on: unknown
        self.last_cut = [False] * len(texts)
        return texts

    def constrained_text(self, task: Any, row: Mapping[str, Any]) -> str:
        """``--predict-mode constrained`` through the server's guided decoding: the answer text a
        local constrained run would produce (one ranking line per candidate, a title, or a rating)."""
        from ..scoring import format_rating, rating_options

        _, prompt = self.prompt_ids(row)
        settings = GenerationSettings(max_new_tokens=64)
        if task.answer == "ranking":
            order = self.backend.rank(prompt, list(row["candidates"]), settings)
            return "\n".join(f"{k}. {title}" for k, title in enumerate(order, 1))
        if task.answer == "rating":
            options = [format_rating(v) for v in rating_options(float(row["rating_min"]), float(row["rating_max"]))]
        else:
            options = list(row["candidates"])
        return self.backend.choose(prompt, options, settings)

    def option_scores(self, prompt_ids: Prompt, completions: Sequence[str]) -> list[float]:  # type: ignore[override]
        if self.tokenizer is None:
            raise BackendError("--predict-mode likelihood with a served model needs --tokenizer (the served "
                               "model's tokenizer) to render the options and send them as token ids")
        return self.backend.loglikelihood(prompt_ids, completions, self.likelihood_norm)


def served_predictor(cfg: Any, rating_strings: Mapping[Any, Any] | None = None) -> tuple[BackendPredictor, dict[str, Any]]:
    """The predictor and ``results.json`` model info of ``--backend openai`` (no request sent)."""
    import os

    from ..modeling import load_tokenizer
    from ..prompts import resolve_format
    from .openai_http import OpenAIBackend

    tokenizer = load_tokenizer(cfg.tokenizer) if cfg.tokenizer else None
    if tokenizer is None and cfg.predict_mode == "likelihood":
        raise BackendError("--predict-mode likelihood with --backend openai needs --tokenizer (the served model's "
                           "tokenizer, Hub id or folder): options are sent as token ids to /v1/completions")
    if tokenizer is not None:
        fmt = resolve_format(tokenizer, cfg.prompt_format, cfg.system_instruction)
    else:
        fmt = PromptFormat("chat" if cfg.prompt_format == "auto" else cfg.prompt_format, cfg.system_instruction or None)
    cache = None if cfg.http_cache == "none" else (cfg.http_cache or os.path.join(cfg.output, "http_cache.jsonl"))
    backend = OpenAIBackend(
        base_url=cfg.base_url, model=cfg.model, api_key_env=cfg.api_key_env, tokenizer=tokenizer, fmt=fmt,
        cache_path=cache, max_concurrency=cfg.max_concurrency, timeout=cfg.request_timeout,
        max_retries=cfg.max_retries, retry_base_delay=cfg.retry_base_delay,
        max_consecutive_failures=cfg.max_consecutive_failures, seed=cfg.seed,
    )
    predictor = BackendPredictor(None, tokenizer, fmt, "cpu", cfg.max_length, cfg.likelihood_norm,
                                 rating_strings=rating_strings, backend=backend)
    info = {"base_model": cfg.model, "adapter": None, "prompt_format": fmt.kind, "system_instruction": fmt.system,
            "tokenizer": cfg.tokenizer}
    return predictor, info
