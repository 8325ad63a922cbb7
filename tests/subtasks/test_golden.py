"""Golden files: one saved rendered example per cell of the demo build, so a template or generator
change shows up in review as a diff of ``tests/subtasks/golden/<subtask>/<source>.json``.

Regenerate after an intended change (and review the diff)::

    ITDR_UPDATE_GOLDEN=1 python -m pytest tests/subtasks/test_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.paper import PAPER
from itdr_hf.pipeline import Selection, run

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("ITDR_UPDATE_GOLDEN") == "1"
SHOWN = ("id", "task", "source", "instruction", "input", "output", "user_id", "item_id")


@pytest.fixture(scope="module")
def examples() -> dict[tuple[str, str], dict]:
    """The first train row of every cell the bundled demo builds, with the default options."""
    plan = run(Selection(demo=True), BuildConfig())
    return {(c.subtask, c.source): {k: c.rows["train"][0][k] for k in SHOWN} for c in plan.cells}


def _path(subtask: str, source: str) -> Path:
    return GOLDEN / subtask / f"{source}.json"


@pytest.mark.parametrize("subtask, source", [(c.subtask, c.source) for c in PAPER])
def test_the_rendered_example_matches_its_golden_file(examples, subtask, source):
    if (subtask, source) not in examples:
        assert not _path(subtask, source).exists(), "a golden file for a cell the demo no longer builds"
        pytest.skip(f"{subtask}/{source}: not built from the demo data")
    text = json.dumps(examples[(subtask, source)], indent=2, ensure_ascii=False) + "\n"
    path = _path(subtask, source)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; create it with ITDR_UPDATE_GOLDEN=1 (see this module's docstring)"
    assert path.read_text(encoding="utf-8") == text, f"{subtask}/{source} renders differently from {path}"
