"""Turn generated text into structured answers. Parsers never raise on messy text.

* :func:`parse_number` - the first number, clamped to the rating scale (RP).
* :func:`parse_ranking` - a ranked list of candidate titles (TKR, CDR); unmatched lines become
  ``None`` and stay in place so they count as misses.
* :func:`parse_choice` - one candidate title (NIR).
* :func:`parse_attributes` - ``name:value`` pairs for the row's attribute names (UAP).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .metrics import clamp, normalize_text

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_LIST_MARK = re.compile(r"^\s*(?:(?:\d+|[a-zA-Z])\s*[.):\]]|\(\d+\)|[-*\u2022>#]+|top\s*\d+\s*[:.])\s*", re.IGNORECASE)
_INLINE_NUMBERING = re.compile(r"(?:(?<=\s)|^)\d{1,2}\s*[.)]\s+")
_QUOTES = "\"'`\u201c\u201d\u2018\u2019\u300a\u300b*"


def parse_number(text: str, low: float | None = None, high: float | None = None) -> float | None:
    """The first number in ``text`` (``4,5`` read as 4.5), clamped to ``[low, high]``; ``None`` if none."""
    m = _NUMBER.search(text or "")
    if not m:
        return None
    value = float(m.group().replace(",", "."))
    if low is not None and high is not None:
        value = clamp(value, low, high)
    return value


def _norm_title(text: str) -> str:
    text = normalize_text(text.strip().strip(_QUOTES))
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class CandidateMatcher:
    """Exact-then-fuzzy matching of free text onto a row's candidate titles."""

    candidates: Sequence[str]
    threshold: float = 85.0
    _index: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {}
        for c in self.candidates:
            self._index.setdefault(_norm_title(c), c)

    def match(self, text: str) -> str | None:
        key = _norm_title(text)
        if not key:
            return None
        if key in self._index:
            return self._index[key]
        from rapidfuzz import fuzz, process

        best = process.extractOne(key, list(self._index), scorer=fuzz.ratio, score_cutoff=self.threshold)
        return self._index[best[0]] if best else None


def strip_list_marker(line: str) -> str:
    """``'  3. Title'`` / ``'- Title'`` / ``'(2) Title'`` -> ``'Title'``."""
    return _LIST_MARK.sub("", line, count=1).strip()


_NUMBERED = re.compile(r"^\s*\(?(\d{1,3})\s*[.):\]]\s*")
_BULLET = re.compile(r"^\s*[-*\u2022>#]+\s*")


def _list_item_lines(lines: Sequence[str]) -> list[str] | None:
    """The item lines of a numbered or bulleted list, markers stripped; ``None`` when ``lines`` is no list.

    A numbered list needs at least two lines whose numbers increase (each at most
    ``max(20, 2 * len(lines))``); a bulleted list at least two bullet lines. One title that merely
    looks like a marker (``2001: A Space Odyssey``, ``W. (2008)``, ``10 Things I Hate About You``) in
    an unnumbered list therefore never turns the other lines into "preamble".
    """
    limit = max(20, 2 * len(lines))
    numbered: list[str] = []
    last = 0
    for ln in lines:
        m = _NUMBERED.match(ln)
        if m and last < int(m.group(1)) <= limit:
            numbered.append(ln[m.end():].strip())
            last = int(m.group(1))
    if len(numbered) >= 2:
        return numbered
    bullets = [_BULLET.sub("", ln, count=1).strip() for ln in lines if _BULLET.match(ln)]
    if len(bullets) >= 2:
        return bullets
    return None


def _split_items(text: str) -> list[str]:
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    if len(lines) == 1 and len(_INLINE_NUMBERING.findall(lines[0])) > 1:
        # "1. A 2. B 3. C" on one line
        lines = [p for p in _INLINE_NUMBERING.split(lines[0]) if p.strip()]
    if len(lines) > 1:
        items = _list_item_lines(lines)
        if items is not None:
            return items  # a numbered/bulleted list: drop preamble and closing remarks
        return [ln.strip() for ln in lines]  # an unnumbered list: every line is an item, as written
    return [strip_list_marker(ln) for ln in lines]


@dataclass(frozen=True)
class RankingParse:
    """A parsed ranked list.

    ``items`` keeps one entry per output line: the matched candidate or ``None``.
    ``ok`` is true when the list is non-empty and every line matched a distinct candidate.
    """

    items: list[str | None]
    hallucinated: int
    duplicates: int

    @property
    def ok(self) -> bool:
        return bool(self.items) and self.hallucinated == 0 and self.duplicates == 0


def parse_ranking(text: str, candidates: Sequence[str], threshold: float = 85.0) -> RankingParse:
    """Parse a ranked list of titles: strip numbering, normalise, exact then fuzzy match."""
    matcher = CandidateMatcher(candidates, threshold)
    items = [matcher.match(line) for line in _split_items(text)]
    seen: set[str] = set()
    dups = 0
    for it in items:
        if it is not None:
            dups += it in seen
            seen.add(it)
    return RankingParse(items=items, hallucinated=sum(i is None for i in items), duplicates=dups)


def parse_choice(text: str, candidates: Sequence[str], threshold: float = 85.0) -> str | None:
    """The chosen candidate: first non-empty line matched exactly/fuzzily, else the longest
    candidate title contained in the text; ``None`` if nothing matches."""
    matcher = CandidateMatcher(candidates, threshold)
    items = _split_items(text)
    if items:
        hit = matcher.match(items[0])
        if hit is not None:
            return hit
    haystack = f" {_norm_title(text or '')} "
    contained = [c for c in candidates if _norm_title(c) and f" {_norm_title(c)} " in haystack]
    return max(contained, key=len) if contained else None


def parse_attributes(text: str, names: Sequence[str]) -> dict[str, str]:
    """``name:value`` pairs for the given attribute names (case-insensitive; values may hold commas).

    A value runs from after ``name:`` (or ``name=``) to the next known ``name:`` or the end,
    trimmed of separators. Names absent from the text are absent from the result.
    """
    text = text or ""
    if not names:
        return {}
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w])({alternation})\s*[:=]\s*", re.IGNORECASE)
    matches = list(pattern.finditer(text))
    lookup = {n.casefold(): n for n in names}
    out: dict[str, str] = {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[m.end():end].strip().strip(",;|\n").strip()
        value = value.splitlines()[0].strip() if value else value
        name = lookup[m.group(1).casefold()]
        if value and name not in out:
            out[name] = value
    return out
