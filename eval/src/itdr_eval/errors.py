"""Errors a user can act on: one line naming what failed, where it looked and what to do.

``cli.main`` prints an :class:`EvalError` (and the other expected failures it translates, such as
CUDA out-of-memory) as one line and exits with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations


class EvalError(ValueError):
    """A failure with a one-line, actionable message (a ``ValueError`` so callers may catch either)."""


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def is_oom(exc: BaseException) -> bool:
    """True for CUDA (or MPS) out-of-memory errors."""
    import torch

    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", ())
    return isinstance(exc, oom) or "out of memory" in str(exc).lower()
