"""Any OpenAI-compatible chat endpoint: ``POST {base_url}/chat/completions``.

That one route is what vLLM, SGLang, llama.cpp's server, DeepSeek, OpenAI and most providers
serve, so one client covers a local GPU and a paid API alike. It uses the standard library
(``urllib``): a reference takes seconds to generate, so connection reuse would buy nothing
worth a dependency. The API key is read from the environment variable the options name, sent
only in the ``Authorization`` header, and scrubbed from every error message.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..config import ReferenceConfig
from . import (
    Backend,
    BackendError,
    Completion,
    RequestFailed,
    TransientError,
    register_backend,
)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@register_backend("openai")
class OpenAICompatBackend(Backend):
    name = "openai"

    def __init__(self, config: ReferenceConfig) -> None:
        super().__init__(config)
        self.url = config.resolved_base_url() + "/chat/completions"
        self._key = os.environ.get(config.api_key_env) or None
        host = urllib.parse.urlsplit(self.url).hostname or ""
        # A local server is never reached through the user's HTTP proxy.
        handlers = [urllib.request.ProxyHandler({})] if host in LOOPBACK else []
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"OpenAICompatBackend(url={self.url!r}, model={self.config.model!r})"

    def complete(self, messages: list[dict], params: dict[str, Any]) -> Completion:
        body = {"model": self.config.model, "messages": messages, "stream": False,
                "temperature": params["temperature"], "top_p": params["top_p"], "max_tokens": params["max_tokens"]}
        if params.get("seed") is not None:
            body["seed"] = params["seed"]
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.config.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except TimeoutError:
            raise TransientError(f"no answer within {self.config.timeout:g} s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise TransientError(f"no answer within {self.config.timeout:g} s") from None
            raise TransientError(f"cannot reach {self.url}: {self._scrub(str(exc.reason))}") from None
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            raise TransientError(f"connection to {self.url} failed: {self._scrub(repr(exc))}") from None
        return self._parse(raw)

    def _parse(self, raw: bytes) -> Completion:
        try:
            data = json.loads(raw)
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            snippet = self._scrub(raw[:200].decode("utf-8", "replace"))
            raise TransientError(f"malformed response (not a chat completion): {snippet!r}") from None
        return Completion(str(text), truncated=choice.get("finish_reason") == "length")

    def _http_error(self, exc: urllib.error.HTTPError) -> Exception:
        try:
            detail = self._scrub(exc.read(300).decode("utf-8", "replace").strip())
        except Exception:  # noqa: BLE001 - the status alone is enough
            detail = ""
        status = exc.code
        message = f"HTTP {status} from {self.url}" + (f": {detail}" if detail else "")
        if status in (408, 429) or status >= 500:
            return TransientError(message, retry_after=_retry_after(exc.headers.get("Retry-After")))
        if status in (401, 403):
            where = f"${self.config.api_key_env}" + ("" if self._key else " (unset)")
            return BackendError(f"{message}\n  fix: put a valid API key in {where} or name another variable with --reference-api-key-env")
        if status == 404:
            return BackendError(f"{message}\n  fix: check --reference-base-url (it should end before /chat/completions, "
                                f"usually in /v1) and that the endpoint serves --reference-model {self.config.model!r}")
        return RequestFailed(message)

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


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
