"""The contract of a subtask generator.

A generator is pure: normalised tables, the build config and a seeded RNG in; examples out.
It chooses which users (or items) get an example through :func:`~itdr_hf.splits.choose_units`,
so capping and leakage-free splitting are the same for every subtask, and hands the template
variables and ground truth to the shared renderer, which renders ``builders/<name>/*.j2``.
Most generators pass only data; two also pass pre-written text the templates insert as is (the
derived interest summary of interest recognition, the audience description of target user
identification), because those answers are prose built from the data.
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
    # What the answer is, for scoring (itdr-eval's task table must agree; tests/eval/test_tasks_match.py):
    # "rating" | "ranking" | "choice" | "attributes" | "text".
    answer: ClassVar[str]
    # Cells beyond the paper's matrix (itdr_hf/paper.py): further sources this subtask is built from.
    sources: ClassVar[tuple[str, ...]] = ()
    # A folder holding ``<name>/{instruction,input,question,output}.j2``; None: the package's ``builders/``.
    templates: ClassVar[str | None] = None
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
