"""Options of the reference writer: who writes IR/TUI references, how, and which answers pass.

The paper's interest-recognition and target-user references are prose a strong LLM wrote
(SPEC §1; probably DeepSeek-V3). Offline, the subtasks derive a reference from the data
(``derived:<rule>``); this writer replaces it with an LLM's answer (``llm:<backend>:<model>``).

Each field's help text is written once, here; ``itdr-build`` derives its ``--reference-*``
flags from it. Fields marked ``hash=False`` change how answers are fetched, not which answers
a build contains, so they stay out of :meth:`ReferenceConfig.fingerprint` (the builder hash).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..options import add_flags, from_flags

WRITERS = ("derived", "openai", "transformers")
ON_FAILURE = ("fail", "keep-derived")
LANGUAGES = ("en", "any")


def option(default: Any, help: str, *, type: Any = None, hash: bool = True, **kwargs: Any) -> Any:
    return field(default=default, metadata={"help": help, "type": type, "hash": hash, **kwargs})


def default_cache_path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "itdr", "references.sqlite3")


@dataclass(frozen=True, kw_only=True)
class ReferenceConfig:
    """How IR/TUI references are written; the output-relevant part is in the builder hash."""

    writer: str = option(
        "derived",
        "Who writes interest-recognition and target-user references: 'derived' (built from the data, offline), "
        "'openai' (any OpenAI-compatible chat endpoint: vLLM, SGLang, DeepSeek, OpenAI …) or 'transformers' "
        "(a local model).",
        choices=WRITERS,
    )
    model: str | None = option(
        None,
        "Model that writes references: the name the endpoint serves (e.g. deepseek-chat) or, for 'transformers', "
        "a Hub id or local folder. Recorded in every row as llm:<writer>:<model>.",
        type=str,
    )
    base_url: str | None = option(
        None,
        "Base URL of the OpenAI-compatible endpoint, up to /v1 (requests go to <base>/chat/completions). "
        "Default: $OPENAI_BASE_URL, else https://api.openai.com/v1.",
        type=str,
        hash=False,
    )
    api_key_env: str = option(
        "OPENAI_API_KEY",
        "Name of the environment variable holding the endpoint's API key (the key itself is never logged); "
        "unset means no Authorization header, as a local vLLM needs.",
        hash=False,
    )
    cache: str | None = option(
        None,
        "SQLite file of every accepted answer, keyed by (writer, model, prompt hash, generation parameters); "
        "a rebuild reuses it and an interrupted run resumes from it. Default: ~/.cache/itdr/references.sqlite3.",
        type=str,
        hash=False,
    )
    cache_import: str | None = option(
        None, "JSONL file of answers (from --reference-cache-export) to load into the cache before writing.",
        type=str, hash=False,
    )
    cache_export: str | None = option(
        None,
        "Write the answers this build used to this JSONL file, to ship beside a release so that others rebuild it "
        "with --reference-cache-import and --reference-offline.",
        type=str, hash=False,
    )
    offline: bool = option(
        False, "Use cached answers only and never call the model; a missing answer fails the build.", hash=False
    )
    concurrency: int = option(8, "Most requests in flight at once (the 'transformers' writer runs one at a time).", hash=False)
    timeout: float = option(120.0, "Seconds to wait for one answer before retrying it.", hash=False)
    max_retries: int = option(
        6,
        "Retries of one request after a transient error (429, 5xx, timeout, reset connection, malformed response), "
        "with exponential backoff and jitter; 429's Retry-After is honoured.",
        hash=False,
    )
    max_consecutive_failures: int = option(
        20,
        "Stop the whole run once this many references in a row have failed with nothing written between them "
        "(an endpoint that is down); 0 never stops early.",
        hash=False,
    )
    retry_base_delay: float = option(1.0, "First backoff delay in seconds; doubles on each retry.", hash=False)
    retry_max_delay: float = option(60.0, "Longest backoff delay (and longest Retry-After honoured), in seconds.", hash=False)
    temperature: float = option(0.0, "Sampling temperature of the first attempt (0: greedy, the most reproducible).")
    top_p: float = option(1.0, "Nucleus-sampling probability mass.")
    max_tokens: int = option(512, "Most tokens in one answer; an answer cut at this limit is rejected.")
    seed: int | None = option(None, "Seed sent with each request, where the endpoint supports one.", type=int)
    system_prompt: str = option(
        "", "System message sent before each prompt ('' for none); the prompts themselves are the subtasks' "
        "reference_prompt.j2 templates."
    )
    max_attempts: int = option(
        3, "Answers asked for one reference before it fails, when earlier ones are rejected by the quality gates."
    )
    retry_temperature: float = option(
        0.7,
        "Temperature of the attempts after a rejected answer (a greedy retry would repeat the rejected answer).",
    )
    min_words: int = option(15, "Quality gate: fewest words in an accepted reference.")
    max_words: int = option(300, "Quality gate: most words in an accepted reference.")
    language: str = option(
        "en", "Quality gate: expected language ('en': most letters are ASCII; 'any': no check).", choices=LANGUAGES
    )
    min_ascii_letter_share: float = option(
        0.9, "Quality gate for 'en': share of the answer's letters that must be ASCII a-z/A-Z."
    )
    echo_ngram: int = option(6, "Quality gate: word n-gram length used to detect an answer that copies its prompt.")
    max_echo_share: float = option(
        0.5, "Quality gate: largest share of the answer's word n-grams that may appear verbatim in the prompt."
    )
    on_failure: str = option(
        "fail",
        "What a reference that still fails after all retries does: 'fail' the build (default; answers fetched so far "
        "stay cached, so the next run resumes) or 'keep-derived' (keep the derived reference and its derived:* provenance).",
        choices=ON_FAILURE,
    )
    device: str = option("auto", "Device of the 'transformers' writer: 'auto', 'cpu', 'cuda', 'cuda:1' …", hash=False)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            choices = f.metadata.get("choices")
            if choices and value not in choices:
                raise ConfigError(f"--reference-{_flag(f.name)} must be one of {', '.join(choices)}, not {value!r}")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"--reference-{_flag(f.name)} must not be negative, got {value}")
        if self.writer == "derived":
            if self.cache_import or self.cache_export or self.offline:
                raise ConfigError(
                    "--reference-cache-import, --reference-cache-export and --reference-offline need an LLM writer: "
                    "add --reference-writer openai or transformers"
                )
            return
        if not self.model:
            example = "deepseek-chat, or the name your vLLM server serves" if self.writer == "openai" else "a Hub id or a local folder"
            raise ConfigError(f"--reference-writer {self.writer} needs --reference-model ({example})")
        if self.concurrency < 1 or self.max_attempts < 1:
            raise ConfigError("--reference-concurrency and --reference-max-attempts must be at least 1")
        if self.min_words > self.max_words:
            raise ConfigError("--reference-min-words must not exceed --reference-max-words")
        if self.max_tokens < 1 or self.timeout <= 0:
            raise ConfigError("--reference-max-tokens and --reference-timeout must be positive")
        if self.echo_ngram < 1 or not 0 <= self.max_echo_share <= 1 or not 0 <= self.min_ascii_letter_share <= 1:
            raise ConfigError("--reference-echo-ngram must be ≥ 1; the share gates must lie in [0, 1]")

    @property
    def enabled(self) -> bool:
        return self.writer != "derived"

    @property
    def model_label(self) -> str:
        """The model's name in provenance and cache keys: a local folder is named by its last part, so a
        cache made on one machine is reused on another."""
        model = self.model or ""
        if self.writer == "transformers" and Path(model).expanduser().is_dir():
            return Path(model).expanduser().resolve().name
        return model

    @property
    def provenance(self) -> str:
        return f"llm:{self.writer}:{self.model_label}"

    def resolved_base_url(self) -> str:
        return (self.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")

    def cache_path(self) -> Path:
        return Path(self.cache or default_cache_path()).expanduser()

    def generation_params(self) -> dict[str, Any]:
        """What, beside the prompt, decides the answer; part of every cache key."""
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens, "seed": self.seed}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Digest of the fields that decide which references a build contains (not how they are fetched)."""
        payload = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata.get("hash", True)}
        payload["model"] = self.model_label
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    # -- command line ---------------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one ``--reference-<field>`` flag per field, with the field's help text."""
        group = parser.add_argument_group("reference writer (LLM-written IR/TUI references; default: derived)")
        add_flags(group, cls, prefix="reference_")

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> ReferenceConfig:
        return from_flags(cls, args, prefix="reference_")


def _flag(name: str) -> str:
    return name.replace("_", "-")
