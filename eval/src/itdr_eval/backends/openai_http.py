"""A model behind an OpenAI-compatible HTTP API (vLLM, SGLang, TGI, llama.cpp, hosted APIs).

Standard library only (``urllib`` + a thread pool): a request takes far longer than a fresh
connection, so a client dependency would buy nothing. Routes:

* chat prompts -> ``POST /chat/completions`` with the row's user message (the server applies the
  model's chat template, as the local backend does with the tokenizer's);
* alpaca prompts -> ``POST /completions`` with the same prompt text as the local backend;
* likelihood -> ``POST /completions`` with the prompt + option as token ids, ``echo`` and
  ``logprobs`` (OpenAI legacy) or, when those come back empty, vLLM's ``prompt_logprobs``;
* constrained choice -> the prompt's route with vLLM/SGLang ``guided_choice``
  (``structured_outputs.choice``); a ranked list continues the assistant turn line by line
  (``continue_final_message``).

Greedy settings are sent explicitly (temperature 0, top_p 1, no penalties, n 1). Transient
failures (408, 429, 5xx, timeouts, connection errors, malformed JSON) are retried with
exponential backoff and jitter, waiting what ``Retry-After`` asks; after
``max_consecutive_failures`` failed attempts in a row the run stops with the last error. Answers
go to a :class:`~itdr_eval.http_cache.ResponseCache` as they arrive. The API key is read from the
named environment variable, sent only in the ``Authorization`` header and scrubbed from every
message; it is in no cache entry, no result and no ``repr``.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from ..http_cache import ResponseCache, request_key
from ..prompts import PromptFormat, encode
from . import Backend, BackendError, GenerationSettings, Prompt
from .options import redact_url

log = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_DELAY = 60.0


class TransientError(Exception):
    """Worth retrying; ``retry_after`` = the server's requested wait in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Missing(Exception):
    """The response is well formed but lacks what was asked for (a capability the server lacks)."""


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, *, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", tokenizer: Any = None,
                 fmt: PromptFormat | None = None, cache_path: str | None = None, max_concurrency: int = 8,
                 timeout: float = 120.0, max_retries: int = 6, retry_base_delay: float = 1.0,
                 max_consecutive_failures: int = 20, seed: int | None = None) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key_env = api_key_env
        self._key = os.environ.get(api_key_env) or None
        self.tokenizer = tokenizer
        self.fmt = fmt or PromptFormat("chat")
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        self.max_consecutive_failures = max_consecutive_failures
        self.seed = seed
        self.cache = ResponseCache(cache_path)
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="itdr-openai")
        self._lock = threading.Lock()
        self._consecutive_failures = 0
        self._stopped: str | None = None
        self._likelihood_route: str | None = None  # "echo" | "prompt_logprobs" once one worked
        self.stats = {"requests": 0, "failed_attempts": 0, "cache_hits": 0}
        self._server_models: set[str] = {r["model"] for r in self.cache.values() if r.get("model")}
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        # a local server is never reached through the user's HTTP proxy
        self._opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if host in LOOPBACK else []))

    def __repr__(self) -> str:
        return f"OpenAIBackend(base_url={redact_url(self.base_url)!r}, model={self.model!r})"

    # ------------------------------------------------------------------ interface
    def generate(self, prompts: Sequence[Prompt], settings: GenerationSettings) -> list[str]:
        return self._map(lambda p: self._generate_one(p, settings), prompts)

    def loglikelihood(self, prompt: Prompt, continuations: Sequence[str], norm: str = "sum") -> list[float]:
        if self.tokenizer is None or prompt.ids is None:
            raise BackendError("likelihood scoring through an API needs --tokenizer (the served model's tokenizer)")
        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        conts = [encode(tok, c, False) or [pad] for c in continuations]

        def one(c_ids: list[int]) -> float:
            lps = self._prompt_logprobs(list(prompt.ids) + c_ids)
            tail = lps[len(prompt.ids):len(prompt.ids) + len(c_ids)]
            if len(tail) != len(c_ids) or any(v is None for v in tail):
                raise BackendError(f"{self._where('/completions')} returned log-probabilities for {len(lps)} of "
                                   f"{len(prompt.ids) + len(c_ids)} prompt tokens: cannot score an option")
            total = float(sum(tail))
            return total / len(c_ids) if norm == "mean" else total

        return self._map(one, conts)

    def choose(self, prompt: Prompt, choices: Sequence[str], settings: GenerationSettings, prefix: str = "") -> str:
        if self.fmt.kind == "chat":
            route, body, extract = "/chat/completions", self._chat_body(prompt, settings), _chat_text
            if prefix:  # continue the assistant turn already written (vLLM continue_final_message)
                body["messages"].append({"role": "assistant", "content": prefix})
                body.update(continue_final_message=True, add_generation_prompt=False)
        else:
            route, extract = "/completions", _completion_text
            body = {"model": self.model, "prompt": prompt.text + prefix, **self._settings(settings)}
        body["guided_choice"] = list(choices)  # vLLM (<= 0.10), SGLang
        body["structured_outputs"] = {"choice": list(choices)}  # vLLM >= 0.10
        try:
            text = self._post(route, body, extract, capability="guided decoding (guided_choice)")["text"]
        except _Missing as exc:
            raise BackendError(f"{exc}; constrained decoding needs a server with guided_choice (vLLM, SGLang)") from None
        if text not in choices:
            raise BackendError(f"{self._where(route)} ignored guided_choice (answered {text[:60]!r}, not one of the "
                               "choices): the server has no guided decoding; use --predict-mode generate or likelihood")
        return text

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "endpoint_model": self.model,
            "server_model_ids": sorted(self._server_models),
            "base_url": redact_url(self.base_url),
            "api_key_env": self.api_key_env,
            "api_key_set": self._key is not None,
            "likelihood_route": self._likelihood_route,
            "http_cache": self.cache.path,
            **self.stats,
        }

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.cache.close()

    # ------------------------------------------------------------------ requests
    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over ``items`` on the pool, results in order. When one fails, the items not yet
        started are cancelled and the ones in flight are waited for before the first error is
        raised: ``Executor.map`` would raise at once and leave their requests running (a likelihood
        option goes on to its vLLM fallback request) after the caller has reported the error, closed
        the cache or moved on to the next task."""
        futures = [self._pool.submit(fn, item) for item in items]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        if any(f.exception() is not None for f in done):
            for f in futures:
                f.cancel()
            wait(futures)
            failed = [f for f in futures if not f.cancelled() and f.exception() is not None]
            raise failed[0].exception()
        return [f.result() for f in futures]

    def _settings(self, settings: GenerationSettings) -> dict[str, Any]:
        body: dict[str, Any] = {"max_tokens": settings.max_new_tokens, "temperature": settings.temperature,
                                "top_p": settings.top_p, "frequency_penalty": settings.frequency_penalty,
                                "presence_penalty": settings.presence_penalty, "n": 1, "stream": False}
        seed = settings.seed if settings.seed is not None else self.seed
        if seed is not None:
            body["seed"] = seed
        return body

    def _chat_body(self, prompt: Prompt, settings: GenerationSettings) -> dict[str, Any]:
        return {"model": self.model, "messages": [dict(m) for m in prompt.messages], **self._settings(settings)}

    def _generate_one(self, prompt: Prompt, settings: GenerationSettings) -> str:
        if self.fmt.kind == "chat":
            out = self._post("/chat/completions", self._chat_body(prompt, settings), _chat_text)
        else:
            body = {"model": self.model, "prompt": prompt.text, **self._settings(settings)}
            out = self._post("/completions", body, _completion_text)
        return out["text"].strip()

    def _prompt_logprobs(self, ids: list[int]) -> list[float | None]:
        base = {"model": self.model, "prompt": ids, "max_tokens": 1, "temperature": 0.0, "n": 1, "stream": False}
        routes = [self._likelihood_route] if self._likelihood_route else ["echo", "prompt_logprobs"]
        for route in routes:
            if route == "echo":
                body, extract = {**base, "echo": True, "logprobs": 1}, _echo_logprobs(len(ids))
            else:
                body, extract = {**base, "prompt_logprobs": 1, "logprobs": 1}, _vllm_prompt_logprobs(ids)
            try:
                out = self._post("/completions", body, extract, capability="prompt log-probabilities")
            except _Missing as exc:
                if route == routes[-1]:
                    raise BackendError(
                        f"{self._where('/completions')} does not return prompt log-probabilities (tried echo+logprobs"
                        f"{' and vLLM prompt_logprobs' if len(routes) > 1 else ''}): --predict-mode likelihood needs "
                        f"them; use --predict-mode generate with this server. Last answer: {exc}") from None
                continue
            self._likelihood_route = route
            return out["logprobs"]
        raise AssertionError("unreachable")

    def _url(self, route: str) -> str:
        parts = urllib.parse.urlsplit(self.base_url)  # a gateway's ?api-version=... stays after the route
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + route, parts.query, ""))

    def _where(self, route: str) -> str:
        return f"{redact_url(self.base_url)}{route} (model {self.model!r})"

    def _post(self, route: str, body: dict[str, Any], extract: Callable[[Any], dict[str, Any]],
              capability: str | None = None) -> dict[str, Any]:
        """One answer for ``body``: from the cache, else sent (with retries) and cached."""
        key = request_key(route, body)
        hit = self.cache.get(key)
        if hit is not None:
            with self._lock:
                self.stats["cache_hits"] += 1
            return hit
        for attempt in range(self.max_retries + 1):
            if self._stopped:
                raise BackendError(self._stopped)
            try:
                data = self._send(route, body, capability)
                try:
                    out = extract(data)
                except (KeyError, IndexError, TypeError, AttributeError, ValueError):
                    snippet = self._scrub(json.dumps(data)[:200])
                    raise TransientError(f"malformed response (no {route} answer): {snippet}") from None
            except TransientError as exc:
                self._failed(route, exc)
                if attempt == self.max_retries:
                    raise BackendError(f"{self._where(route)}: gave up after {attempt + 1} attempts: {exc}") from None
                time.sleep(self._delay(attempt, exc.retry_after))
                continue
            with self._lock:
                self._consecutive_failures = 0
                if out.get("model"):
                    self._server_models.add(out["model"])
            self.cache.put(key, out)
            return out
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_DELAY * 5)
        cap = min(MAX_DELAY, self.retry_base_delay * 2 ** attempt)
        return cap / 2 + random.uniform(0, cap / 2)  # equal jitter: spread retries of many workers

    def _failed(self, route: str, exc: Exception) -> None:
        with self._lock:
            self.stats["failed_attempts"] += 1
            self._consecutive_failures += 1
            log.warning("%s: %s (attempt failed; %d in a row)", self._where(route), exc, self._consecutive_failures)
            if self._consecutive_failures >= self.max_consecutive_failures and not self._stopped:
                self._stopped = (f"{self._where(route)}: stopped after {self._consecutive_failures} consecutive failed "
                                 f"requests (last: {exc}); answers so far are cached: rerun to resume")
        if self._stopped:
            raise BackendError(self._stopped)

    def _send(self, route: str, body: dict[str, Any], capability: str | None) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        url = self._url(route)
        request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")
        with self._lock:
            self.stats["requests"] += 1
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(route, exc, capability) from None
        except TimeoutError:
            raise TransientError(f"no answer within {self.timeout:g} s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise TransientError(f"no answer within {self.timeout:g} s") from None
            raise TransientError(f"cannot reach {redact_url(url)}: {self._scrub(str(exc.reason))}") from None
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            raise TransientError(f"connection failed: {self._scrub(repr(exc))}") from None
        try:
            return json.loads(raw)
        except ValueError:
            snippet = self._scrub(raw[:200].decode("utf-8", "replace"))
            raise TransientError(f"malformed JSON: {snippet!r}") from None

    def _http_error(self, route: str, exc: urllib.error.HTTPError, capability: str | None) -> Exception:
        try:
            detail = self._scrub(exc.read(300).decode("utf-8", "replace").strip())
        except Exception:  # noqa: BLE001 - the status alone is enough
            detail = ""
        status = exc.code
        message = f"HTTP {status} from {self._where(route)}" + (f": {detail}" if detail else "")
        if status in (408, 429) or status >= 500:
            return TransientError(message, _retry_after(exc.headers.get("Retry-After")))
        if status in (401, 403):
            where = f"${self.api_key_env}" + ("" if self._key else " (unset)")
            return BackendError(f"{message}; put a valid API key in {where} or name another variable with --api-key-env")
        if status == 404:
            return BackendError(f"{message}; check --base-url (it ends before /chat/completions, usually in /v1) "
                                f"and that the server serves --model {self.model!r}")
        if capability:
            return _Missing(f"{message} (the server refused a request for {capability})")
        return BackendError(message)

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


# ---------------------------------------------------------------------- response parsing
def _chat_text(data: Any) -> dict[str, Any]:
    content = data["choices"][0]["message"]["content"]
    if not isinstance(content, str):
        content = ""  # a refusal / tool call: an empty answer, scored as a miss
    return {"text": content, "model": data.get("model")}


def _completion_text(data: Any) -> dict[str, Any]:
    text = data["choices"][0]["text"]
    if not isinstance(text, str):
        raise TypeError("text")
    return {"text": text, "model": data.get("model")}


def _echo_logprobs(n: int) -> Callable[[Any], dict[str, Any]]:
    def extract(data: Any) -> dict[str, Any]:
        choice = data["choices"][0]
        values = (choice.get("logprobs") or {}).get("token_logprobs")
        if not values or len(values) < n:
            raise _Missing(f"no echoed prompt log-probabilities in the answer (keys: {sorted(choice)})")
        return {"logprobs": [None if v is None else float(v) for v in values[:n]], "model": data.get("model")}

    return extract


def _vllm_prompt_logprobs(ids: list[int]) -> Callable[[Any], dict[str, Any]]:
    def extract(data: Any) -> dict[str, Any]:
        choice = data["choices"][0]
        entries = choice.get("prompt_logprobs")
        if not entries or len(entries) < len(ids):
            raise _Missing(f"no prompt_logprobs in the answer (keys: {sorted(choice)})")
        values: list[float | None] = [None]
        for tid, entry in zip(ids[1:], entries[1:]):
            values.append(float(entry[str(tid)]["logprob"]))
        return {"logprobs": values, "model": data.get("model")}

    return extract


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
