"""Subtask generators, one module each, registered by name on import."""

from __future__ import annotations

import importlib
import pkgutil

from ..paper import ORDER
from .base import SUBTASKS, UII, UIU, Example, Subtask, register_subtask

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in {"base", "common"} and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")


def ordered_names() -> list[str]:
    """The paper's subtasks in its order, then any other registered subtask by name."""
    known = SUBTASKS.names()
    return [n for n in ORDER if n in known] + [n for n in known if n not in ORDER]


__all__ = ["SUBTASKS", "UII", "UIU", "Example", "Subtask", "register_subtask", "ordered_names", "ORDER"]
