"""The paper's source → subtask matrix and per-cell sizes (SPEC §2, §3), as data.

``itdr-build`` with no source names builds every cell here whose source has a reader and whose
raw files can be had; everything else is reported as skipped, with the reason.
"""

from __future__ import annotations

# subtask → {source: examples in the paper}
PAPER_CELLS: dict[str, dict[str, int]] = {
    "rating_prediction": {"movielens_32m": 6250, "bookcrossing": 4623, "anime_2023": 6250, "yelp": 5707},
    "top_k_recommendation": {
        "amazon_2023": 5276, "movielens_32m": 6250, "microlens": 6250, "pixelrec": 6250,
        "amazon_books": 6250, "mind": 6250, "anime_2023": 6250,
    },
    "cross_domain_recommendation": {"amazon_2023": 4118},
    "next_item_recommendation": {"amazon_2023": 5830, "microlens": 6250, "movielens_32m": 6250, "pixelrec": 6250},
    "user_attribute_prediction": {
        "lastfm_1k": 943, "lastfm_360k": 6250, "anime_2023": 6250, "bookcrossing": 6250, "movielens_1m": 6040,
    },
    "interest_recognition": {"amazon_books": 6250, "anime_2023": 6250, "steam": 6228},
    "target_user_identification": {
        "amazon_2023": 6300, "bookcrossing": 6250, "anime_2023": 6250, "steam": 6250, "yelp": 6250,
        "microlens": 6250, "pixelrec": 6250, "movielens_32m": 6250, "mind": 6250,
    },
}


def paper_count(subtask: str, source: str) -> int | None:
    return PAPER_CELLS.get(subtask, {}).get(source)


def paper_sources() -> list[str]:
    seen: dict[str, None] = {}
    for cells in PAPER_CELLS.values():
        seen.update(dict.fromkeys(cells))
    return list(seen)


def cells_for(subtasks: list[str], sources: list[str]) -> list[tuple[str, str]]:
    """The paper's (subtask, source) cells among the given names, in the paper's order."""
    return [(t, s) for t in subtasks for s in PAPER_CELLS.get(t, {}) if s in sources]
