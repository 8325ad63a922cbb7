"""Shared by the per-subtask tests: the real ml-latest-small, loaded once, and two helpers."""

from __future__ import annotations

import numpy as np
import pytest

from itdr_hf.cells import make_cell
from itdr_hf.config import BuildConfig
from itdr_hf.index import tie_keys
from itdr_hf.pipeline import load_source
from itdr_hf.splits import SPLITS


@pytest.fixture(scope="session")
def ml(ml_small):
    return load_source("movielens_32m", ml_small, BuildConfig())


def _rows_of(subtask, index, config=BuildConfig()):
    result = make_cell(subtask, index, config)
    return [r for s in SPLITS for r in result.rows[s]]


def _chronological(index, user):
    inter = index.tables.interactions
    mine = inter[inter["user"] == int(user)]
    # Same-second ties: the build's seeded (user, item) hash (issue 14), not file order.
    order = np.lexsort((np.arange(len(mine)), tie_keys(mine, BuildConfig().seed), mine["timestamp"].to_numpy()))
    return mine.iloc[order]


@pytest.fixture
def rows_of():
    """All rows of one cell, every split, in split order."""
    return _rows_of


@pytest.fixture
def chronological():
    """A user's interactions in the build's history order."""
    return _chronological
