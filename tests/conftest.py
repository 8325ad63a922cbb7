"""Shared fixtures: the bundled demo build, and the real ml-latest-small copy in ../shared/data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.pipeline import Selection, demo_dir

ROOT = Path(__file__).resolve().parents[1]
ML_SMALL = Path(os.environ.get("ITDR_ML_SMALL", ROOT.parent / "shared" / "data" / "ml-latest-small"))


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> Path:
    """One demo build of the MovieLens cells, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("demo") / "itdr"
    build_dataset(out, Selection(sources=("movielens_32m", "movielens_1m"), demo=True, strict=True), BuildConfig())
    return out


@pytest.fixture
def ml32m_copy(tmp_path) -> Path:
    """A writable copy of the synthetic demo ml-32m folder, for tests that corrupt it."""
    dest = tmp_path / "ml-32m"
    shutil.copytree(demo_dir() / "ml-32m", dest)
    return dest


@pytest.fixture
def ml1m_copy(tmp_path) -> Path:
    dest = tmp_path / "ml-1m"
    shutil.copytree(demo_dir() / "ml-1m", dest)
    return dest


@pytest.fixture(scope="session")
def ml_small() -> Path:
    """The real ml-latest-small; CI must have it (a missing copy fails there instead of skipping)."""
    if not (ML_SMALL / "ratings.csv").is_file():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true but the real data is missing: {ML_SMALL}")
        pytest.skip(f"real data not found at {ML_SMALL}")
    return ML_SMALL
