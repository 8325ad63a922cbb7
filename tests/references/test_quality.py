"""The quality gates, on hand-checked answers."""

from __future__ import annotations

import pytest

from itdr_hf.references import ReferenceConfig
from itdr_hf.references.quality import ascii_letter_share, clean, echo_share, rejection

CONFIG = ReferenceConfig(writer="openai", model="m", min_words=5, max_words=12, echo_ngram=3, max_echo_share=0.5)
PROMPT = "Movie: The Last Harbor. Comments: slow but moving, a great cast and a dark mood."


def test_clean_drops_a_reasoning_block():
    assert clean("  <think>plan the answer\n…</think>\nFans of slow dramas.  ") == "Fans of slow dramas."


def test_ascii_letter_share_counts_letters_only():
    assert ascii_letter_share("abc 123 !!") == 1.0
    assert ascii_letter_share("ab电影") == 0.5
    assert ascii_letter_share("") == 1.0


def test_echo_share_counts_copied_ngrams():
    # trigrams of the answer: (a great cast) (great cast and) (cast and a) (and a dark) (a dark mood) (dark mood fans)
    # all but the last occur in the prompt: 5 of 6
    assert echo_share("a great cast and a dark mood fans", PROMPT, 3) == pytest.approx(5 / 6)
    assert echo_share("too short", PROMPT, 3) == 0.0


@pytest.mark.parametrize(
    "answer, truncated, reason",
    [
        ("", False, "empty answer"),
        ("Viewers who like quiet dramas enjoy it.", True, "cut off"),
        ("Quiet drama fans.", False, "too short (3 words < 5)"),
        ("word " * 13, False, "too long (13 words > 12)"),
        ("适合喜欢安静故事的观众 and fans", False, "not English"),
        ("slow but moving, a great cast and a dark mood.", False, "echoes its prompt"),
        ("Viewers who like quiet, patient dramas will enjoy it.", False, None),
    ],
)
def test_rejection_reasons(answer, truncated, reason):
    got = rejection(clean(answer), PROMPT, CONFIG, truncated=truncated)
    assert (got is None) if reason is None else (reason in got)


def test_language_any_skips_the_language_gate():
    config = ReferenceConfig(writer="openai", model="m", min_words=1, language="any")
    assert rejection("适合 喜欢 安静 故事 的 观众", PROMPT, config) is None
