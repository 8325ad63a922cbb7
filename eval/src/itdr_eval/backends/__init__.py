"""Where predictions come from: one interface for a model in this process and a served model.

A :class:`Backend` answers two questions, the same two whatever runs the model:

* ``generate(prompts, settings) -> texts`` - greedy answers under explicit settings;
* ``loglikelihood(prompt, continuations, norm) -> scores`` - the log-probability of each
  continuation after the prompt (summed, or averaged over its tokens).

and optionally ``choose(prompt, choices, settings, prefix) -> choice`` (constrained decoding),
from which ``rank(prompt, choices, settings) -> ranked list`` follows.
``bridge.LocalBackend`` wraps the existing :class:`~itdr_eval.predict.Predictor` (transformers);
``openai_http.OpenAIBackend`` talks to an OpenAI-compatible server. ``bridge.BackendPredictor``
lets ``predict.predict_rows`` drive any backend, so prompt rendering, budgets, option lists,
parsing and scoring are the local path's own code, not a copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import EvalError


class BackendError(EvalError):
    """A backend cannot answer: a missing capability, a refused request, or too many failures.
    Its message names the endpoint and what to do, so the CLI prints it as one line."""


@dataclass(frozen=True, kw_only=True)
class GenerationSettings:
    """Decoding settings, sent explicitly: greedy, no penalties, one answer, a token budget."""

    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    seed: int | None = None


@dataclass(frozen=True)
class Prompt:
    """One rendered prompt.

    ``messages``: the chat messages (the row's user turn) for a server that applies its own chat
    template; ``text``: the prompt string as the local backend renders it ('' when no tokenizer
    is at hand for a chat prompt); ``ids``: its token ids (truncated to ``--max-length`` from the
    left), ``None`` without a tokenizer.
    """

    messages: tuple[Mapping[str, str], ...]
    text: str
    ids: tuple[int, ...] | None = None

    def __len__(self) -> int:  # predict_rows sorts prompts by length
        if self.ids is not None:
            return len(self.ids)
        return len(self.text) or sum(len(m["content"]) for m in self.messages)


class Backend:
    """The interface; see the module docstring."""

    name = "backend"

    def generate(self, prompts: Sequence[Prompt], settings: GenerationSettings) -> list[str]:
        raise NotImplementedError

    def loglikelihood(self, prompt: Prompt, continuations: Sequence[str], norm: str = "sum") -> list[float]:
        raise NotImplementedError

    def choose(self, prompt: Prompt, choices: Sequence[str], settings: GenerationSettings, prefix: str = "") -> str:
        """The answer constrained to one of ``choices``, after the answer text ``prefix``."""
        raise BackendError(f"the {self.name} backend has no constrained decoding")

    def rank(self, prompt: Prompt, choices: Sequence[str], settings: GenerationSettings) -> list[str]:
        """A constrained ranked list ``1. a\n2. b\n...``: each line chosen among the candidates not
        yet listed, after the lines already written (len(choices) - 1 constrained steps)."""
        remaining, order, prefix = list(choices), [], ""
        while len(remaining) > 1:
            line = f"{len(order) + 1}. "
            pick = self.choose(prompt, remaining, settings, prefix + line)
            order.append(pick)
            remaining.remove(pick)
            prefix += f"{line}{pick}\n"
        return order + remaining

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name}

    def close(self) -> None:
        pass



# Standard library only: config.py imports backends.options, and --help stays instant.
