"""Options of the model backend (issue 17): where predictions come from.

A mixin of :class:`~itdr_eval.config.EvalConfig` so the CLI derives them like every other
option. Standard library only (``itdr-eval --help`` stays instant). The API key itself is never
an option: only the name of the environment variable holding it, so no config dump, results file
or log line can contain it.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any


def _opt(default: Any, help: str, choices: tuple[str, ...] | None = None):
    meta: dict[str, Any] = {"help": help}
    if choices is not None:
        meta["choices"] = choices
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class BackendOptions:
    backend: str = _opt(
        "local",
        "'local' = load --model into this process with transformers; 'openai' = score the model "
        "--model served behind an OpenAI-compatible HTTP API at --base-url (vLLM, SGLang, TGI, hosted "
        "APIs); no fine-tuning (implies --finetune none).",
        choices=("local", "openai"),
    )
    base_url: str = _opt(
        "https://api.openai.com/v1",
        "--backend openai: the API root, ending before /chat/completions (usually in /v1). Credentials, "
        "query and fragment are never written to results.",
    )
    api_key_env: str = _opt(
        "OPENAI_API_KEY",
        "--backend openai: name of the environment variable holding the API key (sent as a Bearer "
        "token; unset = no Authorization header, fine for a local server).",
    )
    tokenizer: str | None = _opt(
        None,
        "--backend openai: the served model's tokenizer (Hub id or folder). Needed for --predict-mode "
        "likelihood (prompts and options are sent as token ids, exactly as the local backend tokenises "
        "them) and to pick the prompt format with --prompt-format auto (default without it: chat).",
    )
    max_concurrency: int = _opt(8, "--backend openai: requests in flight at once (also bounded by --batch-size).")
    request_timeout: float = _opt(120.0, "--backend openai: seconds to wait for one response.")
    max_retries: int = _opt(
        6,
        "--backend openai: retries of one request after a 408/429/5xx, timeout, connection error or "
        "malformed response; exponential backoff with jitter, honouring Retry-After.",
    )
    retry_base_delay: float = _opt(1.0, "--backend openai: first backoff delay in seconds (doubles each retry, capped at 60).")
    max_consecutive_failures: int = _opt(
        20,
        "--backend openai: stop the run after this many failed attempts in a row across all requests "
        "(answers so far are cached: rerun to resume).",
    )
    http_cache: str = _opt(
        "",
        "--backend openai: response cache file (JSONL, keyed by endpoint model + request body); "
        "'' = <output>/http_cache.jsonl, 'none' = no cache. A rerun answers cached requests without "
        "sending them.",
    )


def redact_url(url: str) -> str:
    """``url`` without user info, query or fragment: what may be written to results."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def validate_backend(cfg: Any) -> None:
    """Raise ``ValueError`` on backend options that cannot work together."""
    if cfg.backend == "local":
        return
    if cfg.finetune == "lora":
        raise ValueError(f"--backend {cfg.backend} scores a served model as it is: LoRA fine-tuning needs "
                         "--backend local (train locally, then serve the adapter, e.g. vllm serve --lora-modules)")
    parts = urllib.parse.urlsplit(cfg.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--base-url {redact_url(cfg.base_url)!r}: expected http(s)://host[:port]/path, e.g. http://localhost:8000/v1")
    if parts.username or parts.password:
        raise ValueError("--base-url must not hold credentials (user:password@): put the API key in the environment "
                         f"variable named by --api-key-env (now ${cfg.api_key_env})")
    if cfg.max_concurrency < 1 or cfg.max_retries < 0 or cfg.max_consecutive_failures < 1:
        raise ValueError("--max-concurrency and --max-consecutive-failures must be >= 1, --max-retries >= 0")
    if cfg.request_timeout <= 0 or cfg.retry_base_delay < 0:
        raise ValueError("--request-timeout must be > 0 and --retry-base-delay >= 0")
