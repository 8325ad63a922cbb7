"""Text hygiene for everything that enters a prompt: titles, categories, tags, reviews.

Real sources carry HTML entities (``Chili&#39;s Grill &amp; Bar`` in Yelp and Amazon), repeated
categories (``Gift Cards|Gift Cards``) and invisible characters (a MIND title starts with a
zero-width space, which ``str.strip`` keeps). A model should see the text a person sees.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Format characters (Unicode category Cf: zero-width space/joiners, BOM, soft hyphen, bidi marks,
# word joiner) and other controls except tab/newline, which whitespace collapsing handles.
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\x00-\x08\x0b-\x1f\x7f]")


def clean(text: object) -> str:
    """Unescaped (twice at most: some files escape ``&amp;#39;``), invisible characters removed,
    whitespace collapsed to single spaces."""
    text = "" if text is None else str(text)
    if text.isascii() and "&" not in text and text.isprintable() and "  " not in text:
        return text.strip()
    for _ in range(2):
        if "&" not in text:
            break
        text = html.unescape(text)
    text = _INVISIBLE.sub("", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(text.split())


def clean_list(values: object) -> list[str]:
    """Cleaned, non-empty values, each once, in first-seen order."""
    kept: dict[str, None] = {}  # a plain loop: half the time of dict.fromkeys over generators, per item view
    for value in values:
        if text := clean(value):
            kept[text] = None
    return list(kept)
