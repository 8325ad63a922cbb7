"""The contract of a subtask generator.

A generator is pure: normalised tables, the build config and a seeded RNG in; examples out.
It chooses which users (or items) get an example through :func:`~itdr_hf.splits.choose_units`,
so capping and leakage-free splitting are the same for every subtask, and hands the template
variables and ground truth to the shared renderer; it never formats prompt text itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import datasets
import numpy as np

from ..config import BuildConfig
from ..index import SourceIndex
from ..registry import Registry

UII = "UII"
UIU = "UIU"


@dataclass
class Example:
    """One example before rendering: who and what it is about, its split, and its variables."""

    user_id: object
    item_id: object
    split: int
    context: dict
    truth: dict = field(default_factory=dict)


class Subtask:
    """Base class of every subtask; subclasses set the attributes and implement two methods."""

    name: ClassVar[str]
    abbr: ClassVar[str]
    root: ClassVar[str]
    title: ClassVar[str]
    split_unit: ClassVar[str] = "user"
    # In a source made of several domains (Amazon 2023 categories), generate inside each domain
    # alone (histories, candidates and negatives from one category) with ``cap_per_domain`` each.
    per_domain: ClassVar[bool] = False
    features: ClassVar[dict[str, datasets.features.features.FeatureType]] = {}

    def unsupported(self, index: SourceIndex) -> str | None:
        """Why this source cannot feed the subtask, or None when it can."""
        return None

    def generate(self, index: SourceIndex, config: BuildConfig, rng: np.random.Generator) -> list[Example]:
        raise NotImplementedError


SUBTASKS: Registry[type[Subtask]] = Registry("subtask")
register_subtask = SUBTASKS.register
