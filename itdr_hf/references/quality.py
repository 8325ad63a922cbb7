"""Cheap gates an LLM answer must pass before it becomes a reference.

They catch the failures that actually happen at scale — an empty or cut-off answer, a refusal
in another language, a model that pastes its prompt back — without a second model. Each gate
returns a reason a person can read; the writer counts rejections and asks again.
"""

from __future__ import annotations

import re

from .config import ReferenceConfig

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)


def clean(answer: str) -> str:
    """Drop a reasoning model's ``<think>…</think>`` block and surrounding whitespace."""
    return _THINK.sub("", answer).strip()


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ascii_letter_share(text: str) -> float:
    """Share of the letters in ``text`` that are ASCII a-z/A-Z (1.0 for text without letters)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    return sum(c.isascii() for c in letters) / len(letters)


def echo_share(answer: str, prompt: str, n: int) -> float:
    """Share of the answer's word n-grams that occur verbatim in the prompt (0.0 below n words)."""
    answer_words = words(answer)
    if len(answer_words) < n:
        return 0.0
    prompt_words = words(prompt)
    seen = {tuple(prompt_words[i : i + n]) for i in range(len(prompt_words) - n + 1)}
    grams = [tuple(answer_words[i : i + n]) for i in range(len(answer_words) - n + 1)]
    return sum(g in seen for g in grams) / len(grams)


def rejection(answer: str, prompt: str, config: ReferenceConfig, *, truncated: bool = False) -> str | None:
    """Why ``answer`` (already :func:`clean`-ed) is not an acceptable reference, or None if it is."""
    if not answer:
        return "empty answer"
    if truncated:
        return f"cut off at --reference-max-tokens {config.max_tokens}"
    if config.language == "en" and (share := ascii_letter_share(answer)) < config.min_ascii_letter_share:
        return f"not English ({share:.0%} ASCII letters < {config.min_ascii_letter_share:.0%})"
    count = len(words(answer))
    if count < config.min_words:
        return f"too short ({count} words < {config.min_words})"
    if count > config.max_words:
        return f"too long ({count} words > {config.max_words})"
    if (share := echo_share(answer, prompt, config.echo_ngram)) > config.max_echo_share:
        return f"echoes its prompt ({share:.0%} of {config.echo_ngram}-grams copied > {config.max_echo_share:.0%})"
    return None
