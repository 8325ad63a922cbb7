"""Build options: every choice the paper left open, with the paper-faithful default.

Each field's help text is written once, here; the CLI (`itdr-build --help`) and the dataset
card are derived from it. Values marked *inferred* were deduced from the paper's figures and
released files, not stated by the authors (SPEC §1).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError


def option(default: Any, help: str, **kwargs: Any) -> Any:
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass(frozen=True, kw_only=True)
class BuildConfig:
    """Construction parameters of one ITDR build; part of the builder's cache hash."""

    seed: int = option(42, "Seed of every random choice (user sampling, negatives, shuffles, splits).")
    cap_per_cell: int = option(
        6250, "Most examples per (subtask, source) cell; smaller sources keep all they have (paper: 6,250)."
    )
    train_fraction: float = option(0.8, "Share of a cell's users (items for TUI) in the train split (paper: 80%).")
    validation_fraction: float = option(0.1, "Share in the validation split; the rest is test (paper: 10/10).")
    eval_subset_size: int = option(
        250, "Size of the fixed evaluation subset drawn from each cell's test split (paper: 250)."
    )
    task_descriptions: bool = option(
        True, "Include the task-description block; off reproduces the paper's 'w/o task description' ablation."
    )
    negative_sampling: str = option(
        "uniform",
        "How negatives are drawn from items the user never interacted with: 'uniform' or 'popularity' (inferred: uniform).",
        choices=("uniform", "popularity"),
    )
    like_threshold: float = option(
        0.7,
        "A rating counts as 'liked' at or above min + this × (max − min) of the source's scale "
        "(0.7 → 4+ of 5 stars, 8+ of 10).",
    )
    rp_history: int = option(10, "Rated items shown before the target in rating prediction (paper: ~10).")
    rp_target: str = option(
        "last",
        "Which interaction is the rating-prediction target: the user's 'last' or a seeded 'random' one after the history.",
        choices=("last", "random"),
    )
    tkr_history: int = option(5, "History titles in top-K recommendation (paper: 5).")
    tkr_positives: int = option(5, "Candidates that are the user's next real interactions (inferred: 5).")
    tkr_negatives: int = option(5, "Sampled non-interacted candidates in top-K (inferred: 5).")
    cdr_history: int = option(5, "History titles per domain in cross-domain recommendation (paper: 5 + 5).")
    cdr_pairs: str = option(
        "Appliances<->Industrial_and_Scientific,All_Beauty<->Amazon_Fashion,"
        "CDs_and_Vinyl<->Video_Games,Grocery_and_Gourmet_Food<->Home_and_Kitchen",
        "Domain pairs of cross-domain recommendation, comma-separated: 'A->B' recommends in B from history in A "
        "and B, 'A<->B' both ways (paper: these 4 pairs; both directions inferred from its 4,118 examples, "
        "just under 8 directed pairs × cap_per_domain).",
    )
    cap_per_domain: int = option(
        525,
        "In sources made of several domains (Amazon 2023 categories): most examples per domain in item-centric "
        "cells and per directed pair in cross-domain recommendation; this replaces cap_per_cell there "
        "(paper: target user identification has 12 × 525 = 6,300); 0 = no per-domain cap: cap_per_cell holds "
        "for the cell (shared evenly by the pairs in cross-domain recommendation).",
    )
    amazon_categories: str = option(
        "Appliances,Arts_Crafts_and_Sewing,Baby_Products,All_Beauty,CDs_and_Vinyl,Amazon_Fashion,"
        "Grocery_and_Gourmet_Food,Home_and_Kitchen,Industrial_and_Scientific,Musical_Instruments,Software,Video_Games",
        "Amazon Reviews 2023 categories to read, comma-separated file stems (paper: these 12; its 'Beauty' and "
        "'Fashion' are inferred to be All_Beauty and Amazon_Fashion).",
    )
    amazon_early_filter: str = option(
        "auto",
        "Amazon Reviews 2023: 'auto' drops, while reading, the reviews of users with too few titled reviews in a "
        "category for any user-history cell there (TKR, NIR, CDR), keeping exact counts of every review for item "
        "pools, popularity and target user identification, so the rows built are the same with less memory; 'off' "
        "keeps every review. 'auto' keeps every review where it could not be exact (cap_per_domain 0, "
        "tui_evidence 'raters', or a subtask beyond the paper's four built from Amazon).",
        choices=("auto", "off"),
    )
    amazon_spill_rows: int = option(
        1_000_000,
        "Amazon Reviews 2023: reviews of one category held in memory while it is read; past this many they are "
        "spilled to disk grouped by user (under TMPDIR, ~50 bytes a review: ~3.5 GB for Home_and_Kitchen, deleted "
        "as soon as the category is read; a build killed with SIGKILL leaves its itdr-spill-<pid>-* folder, "
        "which the next spill removes) and worked on a group of users at a time, so the read's memory stays "
        "bounded on any category size. The meta files' titles past this many wait on disk the same way "
        "(~100 bytes a title: ~0.8 GB for the paper's 7.9M items) from the meta read to the items table, and "
        "past this many kept reviews their line numbers (read back only for the texts shown) stay in a nameless "
        "temporary file mapped from disk (4 bytes a review). 0 = never spill. The rows built are the same at any value.",
    )
    nir_history: int = option(
        0,
        "History items in next-item recommendation; 0 = the per-source default: 10 for MovieLens 32M "
        "(inferred: the paper's 307-token MovieLens input is ~91 tokens longer than 5 items allow), 5 elsewhere "
        "(the paper's example).",
    )
    nir_negatives: int = option(4, "Sampled negatives beside the true next item (inferred: 4, so 5 candidates).")
    uap_items: int = option(20, "Liked items shown in user attribute prediction (paper: ~20).")
    uap_min_items: int = option(5, "Users with fewer rated items than this get no attribute-prediction example.")
    ir_liked: int = option(3, "Liked items with the user's review in interest recognition (paper's example: 3).")
    ir_disliked: int = option(3, "Disliked items with the user's review in interest recognition (paper's example: 3).")
    ir_dislike_threshold: float = option(
        0.5,
        "A rating counts as 'disliked' at or below min + this × (max − min) of the source's scale "
        "(0.5 → 3 or less of 5 stars, 5 or less of 10; inferred: the paper does not say).",
    )
    uap_location: str = option(
        "full",
        "How a free-text location (BookCrossing, Anime 2023) is predicted in user attribute prediction: the 'full' "
        "text as the user wrote it, normalised, or its last part, the 'country' (inferred: full).",
        choices=("full", "country"),
    )
    tui_comments: int = option(3, "User reviews or comments shown per item in target user identification (paper: 3).")
    tui_evidence: str = option(
        "auto",
        "What target user identification shows about users: their 'reviews', notes on 'raters' (rating, "
        "attributes, other liked items), or 'auto' (reviews where the source has user text, else raters).",
        choices=("auto", "reviews", "raters"),
    )
    tui_rater_items: int = option(3, "Other liked items named in each rater note (tui_evidence 'raters').")
    tui_min_raters: int = option(5, "Items with fewer raters than this get no target-user example.")
    max_bad_line_fraction: float = option(
        0.001,
        "Lines of a raw file that may be skipped as unreadable (bad JSON, missing field) before the build fails; "
        "skipped lines are counted in the report.",
    )
    max_text_tokens: int = option(
        250,
        "Review and comment texts longer than this many tokens are cut at a word boundary, with '…'. Tokens are "
        "estimated as 1.2 per word (DeepSeek-V3, the paper's tokenizer, counts 1.17 on the bundled review sample), "
        "so builds need no tokenizer and stay deterministic (inferred: 6 reviews of ~250 tokens plus titles give "
        "the paper's 1,675-token Amazon Books interest-recognition input).",
    )

    def __post_init__(self) -> None:
        if not 0 < self.train_fraction < 1 or not 0 <= self.validation_fraction < 1:
            raise ConfigError("train_fraction must be in (0, 1) and validation_fraction in [0, 1)")
        if self.train_fraction + self.validation_fraction >= 1:
            raise ConfigError("train_fraction + validation_fraction must leave room for a test split")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            choices = f.metadata.get("choices")
            if choices and value not in choices:
                raise ConfigError(f"{f.name} must be one of {', '.join(choices)}, not {value!r}")
            if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"{f.name} must not be negative, got {value}")
        if self.cap_per_cell < 1:
            raise ConfigError("cap_per_cell must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        payload = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

