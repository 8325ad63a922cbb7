"""Source readers, one module each, registered by name on import (the raw-file toolkit they share is :mod:`itdr_hf.readers`)."""

from __future__ import annotations

import importlib
import pkgutil

from .base import SOURCES, RemoteArchive, Source, register_source

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in {"base", "python_literal"} and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["SOURCES", "RemoteArchive", "Source", "register_source"]
