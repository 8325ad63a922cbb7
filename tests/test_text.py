"""Text hygiene where text enters a prompt (issue 14): entities, invisible characters, repeats."""

from __future__ import annotations

import pandas as pd

from itdr_hf.index import SourceIndex
from itdr_hf.subtasks.common import trim
from itdr_hf.tables import SourceTables
from itdr_hf.text import clean, clean_list


def test_clean_unescapes_and_strips_invisible_characters():
    assert clean("Chili&#39;s Grill &amp; Bar") == "Chili's Grill & Bar"
    assert clean("Tom &amp;amp; Jerry") == "Tom & Jerry"  # escaped twice in the file
    assert clean("\u200bBreaking: news\u200d  today\ufeff") == "Breaking: news today"
    assert clean("soft\u00adhyphen") == "softhyphen"
    assert clean("Plain title (1995)") == "Plain title (1995)"


def test_clean_list_dedupes_in_order():
    assert clean_list(["Gift Cards", "Gift Cards", " ", "Toys &amp; Games", "Toys & Games"]) == ["Gift Cards", "Toys & Games"]


def test_reviews_are_cleaned_when_trimmed():
    assert trim("Great&nbsp;food &amp; \u200bservice", 100) == "Great food & service"


def test_item_views_and_titles_are_clean():
    items = pd.DataFrame(
        {"title": ["\u200bChili&#39;s"], "categories": [["Gift Cards", "Gift Cards"]]}, index=pd.Index([1], name="item")
    )
    fields = SourceTables.__dataclass_fields__
    kwargs = {"name": "t", "items": items, "interactions": pd.DataFrame(columns=["user", "item", "rating", "timestamp"])}
    tables = SourceTables(**{k: v for k, v in kwargs.items() if k in fields})
    index = SourceIndex(tables)
    view = index.item_view(1)
    assert view["title"] == index.title_of[1] == "Chili's"
    assert view["categories"] == ["Gift Cards"]


def test_trim_is_a_token_budget_at_a_word_boundary():
    text = " ".join(f"w{i}" for i in range(1000))
    cut = trim(text, 250)
    assert cut.endswith("…") and len(cut[:-1].split()) == int(250 / 1.2)
    assert trim("short review", 250) == "short review"
