"""Which (subtask, source) cells a build selects from: the paper's (:mod:`itdr_hf.paper`) plus any a
registered subtask or source declares beyond it (``Subtask.sources``, ``Source.subtasks``).

``itdr-build`` with no source names builds every cell whose source has a reader and whose raw
files can be had; everything else is reported as skipped, with the reason.
"""

from __future__ import annotations

from .paper import PAPER_CELLS


def paper_count(subtask: str, source: str) -> int | None:
    return PAPER_CELLS.get(subtask, {}).get(source)


def paper_sources() -> list[str]:
    seen: dict[str, None] = {}
    for cells in PAPER_CELLS.values():
        seen.update(dict.fromkeys(cells))
    return list(seen)


def sources_of(subtask: str) -> list[str]:
    """The sources a subtask is built from: the paper's, in its order, then those declared beyond it."""
    from .sources import SOURCES
    from .subtasks import SUBTASKS

    names = dict.fromkeys(PAPER_CELLS.get(subtask, {}))
    if subtask in SUBTASKS:
        names.update(dict.fromkeys(SUBTASKS.get(subtask).sources))
    names.update(dict.fromkeys(s for s in SOURCES.names() if subtask in SOURCES.get(s).subtasks))
    return list(names)


def cells_for(subtasks: list[str], sources: list[str]) -> list[tuple[str, str]]:
    """The (subtask, source) cells among the given names, in the paper's order (declared cells after)."""
    return [(t, s) for t in subtasks for s in sources_of(t) if s in sources]
