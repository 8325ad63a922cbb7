"""Backends that turn chat messages into one answer, and the errors the writer acts on.

A backend implements :meth:`Backend.complete` for one request; retries, backoff, quality gates,
caching and concurrency live in the writer, so a new backend is one small class registered
with :func:`register_backend` under the name ``--reference-writer`` selects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...errors import ItdrError
from ...registry import Registry
from ..config import ReferenceConfig


@dataclass(frozen=True)
class Completion:
    """One answer; ``truncated`` when the model stopped at the token limit."""

    text: str
    truncated: bool = False


class TransientError(Exception):
    """Worth retrying after a pause (429, 5xx, timeout, reset connection, malformed response)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestFailed(Exception):
    """This request cannot succeed as sent (e.g. HTTP 400); other rows may still."""


class BackendError(ItdrError):
    """No request can succeed (bad credentials, wrong URL or model): the whole run stops at once."""


class Backend:
    """One model behind one interface; subclasses set ``name`` and implement :meth:`complete`."""

    name: ClassVar[str]
    #: Most requests the backend serves at once (None: as many as --reference-concurrency).
    max_concurrency: ClassVar[int | None] = None

    def __init__(self, config: ReferenceConfig) -> None:
        self.config = config

    def complete(self, messages: list[dict], params: dict[str, Any]) -> Completion:
        """Answer ``messages`` with generation ``params`` (temperature, top_p, max_tokens, seed)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the backend holds (connections, a model in memory)."""


BACKENDS: Registry[type[Backend]] = Registry("reference writer")
register_backend = BACKENDS.register


def make_backend(config: ReferenceConfig) -> Backend:
    from . import openai_compat, transformers_local  # noqa: F401 - registration

    return BACKENDS.get(config.writer)(config)
