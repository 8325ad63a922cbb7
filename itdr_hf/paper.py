"""What the paper reports about its 33 cells (SPEC §1-§3), as one table.

Every other view of the paper is derived from :data:`PAPER`: the subtask order of configs,
cards and reports, the source → subtask matrix the build selects from, the example counts and
the token lengths the card compares against. A new cell of the paper is one row here.
"""

from __future__ import annotations

from typing import NamedTuple


class PaperCell(NamedTuple):
    """One cell as the paper reports it; ``None`` where the paper gives no length."""

    subtask: str
    source: str
    count: int
    input_tokens: float | None = None
    output_tokens: float | None = None


# In the paper's order: subtasks as its Table 1 lists them, sources in each as it lists them.
# Lengths are average DeepSeek-V3 tokens (SPEC §3). Issue 14's notes: Steam IR output ~358;
# MovieLens TUI output 238.53, and its input 0.65x of a measured 79.6, i.e. ~122.5
# (reconstructed from that ratio, to about a token).
PAPER: tuple[PaperCell, ...] = (
    PaperCell("rating_prediction", "movielens_32m", 6250, 162.32, 3.0),
    PaperCell("rating_prediction", "bookcrossing", 4623, 78, 1.0),
    PaperCell("rating_prediction", "anime_2023", 6250, 120, 1.0),
    PaperCell("rating_prediction", "yelp", 5707, 324, 1.0),
    PaperCell("top_k_recommendation", "amazon_2023", 5276, 435, 265),
    PaperCell("top_k_recommendation", "movielens_32m", 6250, 208, 109),
    PaperCell("top_k_recommendation", "microlens", 6250),
    PaperCell("top_k_recommendation", "pixelrec", 6250),
    PaperCell("top_k_recommendation", "amazon_books", 6250),
    PaperCell("top_k_recommendation", "mind", 6250),
    PaperCell("top_k_recommendation", "anime_2023", 6250),
    PaperCell("cross_domain_recommendation", "amazon_2023", 4118, 652, 314),
    PaperCell("next_item_recommendation", "amazon_2023", 5830),
    PaperCell("next_item_recommendation", "microlens", 6250),
    PaperCell("next_item_recommendation", "movielens_32m", 6250, 306.52, 9.3),
    PaperCell("next_item_recommendation", "pixelrec", 6250),
    PaperCell("user_attribute_prediction", "lastfm_1k", 943),
    PaperCell("user_attribute_prediction", "lastfm_360k", 6250),
    PaperCell("user_attribute_prediction", "anime_2023", 6250),
    PaperCell("user_attribute_prediction", "bookcrossing", 6250),
    PaperCell("user_attribute_prediction", "movielens_1m", 6040, 310, 18.3),
    PaperCell("interest_recognition", "amazon_books", 6250, 1675, 107),
    PaperCell("interest_recognition", "anime_2023", 6250),
    PaperCell("interest_recognition", "steam", 6228, None, 358),
    PaperCell("target_user_identification", "amazon_2023", 6300),
    PaperCell("target_user_identification", "bookcrossing", 6250),
    PaperCell("target_user_identification", "anime_2023", 6250),
    PaperCell("target_user_identification", "steam", 6250),
    PaperCell("target_user_identification", "yelp", 6250),
    PaperCell("target_user_identification", "microlens", 6250),
    PaperCell("target_user_identification", "pixelrec", 6250),
    PaperCell("target_user_identification", "movielens_32m", 6250, 122.5, 238.53),
    PaperCell("target_user_identification", "mind", 6250),
)

# The paper's subtask order (SPEC §1), used for configs, cards and reports.
ORDER: tuple[str, ...] = tuple(dict.fromkeys(c.subtask for c in PAPER))

# subtask → {source: examples in the paper}
PAPER_CELLS: dict[str, dict[str, int]] = {t: {c.source: c.count for c in PAPER if c.subtask == t} for t in ORDER}

# (subtask, source) → (avg input tokens, avg output tokens); cells the paper gives no lengths for are absent.
PAPER_LENGTHS: dict[tuple[str, str], tuple[float | None, float | None]] = {
    (c.subtask, c.source): (c.input_tokens, c.output_tokens)
    for c in PAPER
    if c.input_tokens is not None or c.output_tokens is not None
}
