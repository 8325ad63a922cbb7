"""The paper's table (itdr_hf/paper.py) is the one place its matrix, order, counts and lengths live."""

from __future__ import annotations

from itdr_hf.matrix import PAPER_CELLS, cells_for, paper_sources
from itdr_hf.paper import ORDER, PAPER, PAPER_LENGTHS
from itdr_hf.sources import SOURCES
from itdr_hf.subtasks import SUBTASKS, ordered_names


def test_the_paper_has_33_cells_over_7_subtasks_and_13_sources():
    """SPEC §2's matrix; the one place in the tests its size is written down."""
    assert (len(PAPER), len(ORDER), len(paper_sources())) == (33, 7, 13)
    assert len({(c.subtask, c.source) for c in PAPER}) == len(PAPER)
    assert sum(c.count for c in PAPER if c.subtask == "target_user_identification") == 56300


def test_every_paper_subtask_and_source_has_a_module():
    assert set(ORDER) <= set(SUBTASKS.names()) and ordered_names()[: len(ORDER)] == list(ORDER)
    assert set(paper_sources()) <= set(SOURCES.names())


def test_the_derived_views_agree_with_the_table():
    assert cells_for(list(ORDER), paper_sources()) == [(c.subtask, c.source) for c in PAPER]
    assert {(t, s): n for t, cells in PAPER_CELLS.items() for s, n in cells.items()} == {
        (c.subtask, c.source): c.count for c in PAPER
    }
    assert PAPER_LENGTHS[("interest_recognition", "steam")] == (None, 358)
    assert ("top_k_recommendation", "microlens") not in PAPER_LENGTHS


def test_every_subtask_class_declares_itself_once():
    for name in SUBTASKS.names():
        cls = SUBTASKS.get(name)
        assert cls.name == name
        assert cls.abbr and cls.title and cls.root in ("UII", "UIU")
        assert cls.answer in ("rating", "ranking", "choice", "attributes", "text")
