"""Prompt and response text for training, generation and likelihood scoring.

``chat``: prompt = the tokenizer's chat template over ``[messages[0]]`` with the generation
prompt; response = what the template adds for the assistant turn (content + end-of-turn).
``alpaca``: prompt = ``instruction\\ninput\\n\\n`` (``input\\n\\n`` when the instruction is
empty; instruction and input joined with one newline, as LLaMA-Factory's Alpaca converter joins
them), response = ``output`` + eos. ``--system-instruction`` becomes a system message (chat) or a
first paragraph (alpaca). Chat prompts already contain their special tokens, so they
are tokenised without adding any; alpaca prompts get the tokenizer's usual BOS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PromptFormat:
    kind: str  # "chat" | "alpaca"
    system: str | None = None  # --system-instruction

    def add_special_tokens(self) -> bool:
        return self.kind == "alpaca"


def resolve_format(tokenizer: Any, requested: str, system: str | None = None) -> PromptFormat:
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if requested == "chat" and not has_template:
        raise ValueError("--prompt-format chat but the tokenizer has no chat template")
    if requested == "auto":
        requested = "chat" if has_template else "alpaca"
    return PromptFormat(requested, system or None)


def user_content(row: Mapping[str, Any]) -> str:
    msgs = row.get("messages") or []
    if msgs and msgs[0].get("role") == "user":
        return msgs[0]["content"]
    instr = row.get("instruction") or ""
    return f"{instr}\n\n{row['input']}" if instr else row["input"]


def _system(fmt: PromptFormat) -> list[dict[str, str]]:
    return [{"role": "system", "content": fmt.system}] if fmt.system else []


def prompt_text(tokenizer: Any, row: Mapping[str, Any], fmt: PromptFormat) -> str:
    if fmt.kind == "chat":
        return tokenizer.apply_chat_template(
            _system(fmt) + [{"role": "user", "content": user_content(row)}], tokenize=False, add_generation_prompt=True
        )
    instr = row.get("instruction") or ""
    body = f"{instr}\n{row['input']}\n\n" if instr else f"{row['input']}\n\n"
    return f"{fmt.system}\n\n{body}" if fmt.system else body


def response_text(tokenizer: Any, row: Mapping[str, Any], fmt: PromptFormat, output: str, prompt: str | None = None) -> str:
    """The text the model should produce after ``prompt`` to answer ``output`` (end-of-turn included)."""
    eos = tokenizer.eos_token or ""
    if fmt.kind == "chat":
        prompt = prompt if prompt is not None else prompt_text(tokenizer, row, fmt)
        full = tokenizer.apply_chat_template(
            _system(fmt) + [{"role": "user", "content": user_content(row)}, {"role": "assistant", "content": output}],
            tokenize=False,
        )
        if full.startswith(prompt):
            return full[len(prompt):]
    return output + eos


def end_of_turn_ids(tokenizer: Any, fmt: PromptFormat) -> list[int]:
    """Token ids that end an answer: eos plus, for chat, the first token after the assistant content."""
    ids = [i for i in [tokenizer.eos_token_id] if i is not None]
    if fmt.kind == "chat":
        row = {"messages": [{"role": "user", "content": "q"}], "input": "q"}
        resp = response_text(tokenizer, row, fmt, "zzz")
        tail = resp.split("zzz", 1)[-1] if "zzz" in resp else ""
        tail_ids = tokenizer(tail, add_special_tokens=False)["input_ids"] if tail.strip() else []
        if tail_ids and tail_ids[0] not in ids:
            ids.append(tail_ids[0])
    return ids


def encode(tokenizer: Any, text: str, add_special_tokens: bool) -> list[int]:
    return list(tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])
