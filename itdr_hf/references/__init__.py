"""LLM-written references for interest recognition and target user identification.

The paper's IR and TUI references are prose a strong LLM wrote (SPEC §1). The subtasks derive
a reference from the data offline (``derived:<rule>``); :func:`write_references` replaces it
by an LLM's answer (``llm:<writer>:<model>``) through a pluggable backend, a persistent cache
and quality gates. ``itdr-build --reference-writer openai|transformers`` drives it.
"""

from __future__ import annotations

from .cache import ReferenceCache, export_cache, import_cache
from .config import ReferenceConfig

_LAZY = {"ReferenceSummary", "ReferenceWriteError", "reference_prompt", "write_references"}


def __getattr__(name: str):
    # The writer pulls in the build pipeline (datasets, pandas); importing it lazily keeps `itdr-build --help` instant.
    if name in _LAZY:
        from . import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ReferenceCache",
    "ReferenceConfig",
    "ReferenceSummary",
    "ReferenceWriteError",
    "export_cache",
    "import_cache",
    "reference_prompt",
    "write_references",
]
