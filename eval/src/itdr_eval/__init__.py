"""itdr-eval: LoRA fine-tuning, prediction and scoring on the ITDR dataset (arXiv 2508.05667).

Importing this package is cheap (no torch); heavy libraries load inside the functions that use them.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

METRIC_MODULES = ("itdr_rating", "itdr_ranking", "itdr_attributes", "itdr_text")


def metric_module_path(name: str) -> str:
    """Folder of a bundled ``evaluate`` metric module, for ``evaluate.load(metric_module_path(name))``.

    Known names: ``itdr_rating``, ``itdr_ranking``, ``itdr_attributes``, ``itdr_text``. Loading
    needs no network.
    """
    if name not in METRIC_MODULES:
        raise KeyError(f"unknown metric module {name!r}; known: {', '.join(METRIC_MODULES)}")
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "metric_modules", name)


def run(cfg):
    """Run one evaluation (see :func:`itdr_eval.runner.run`)."""
    from .runner import run as _run

    return _run(cfg)
