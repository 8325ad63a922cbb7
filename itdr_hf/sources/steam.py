"""Steam (UCSD, Kang & McAuley 2018): game reviews with play time.

Homepage: https://cseweb.ucsd.edu/~jmcauley/datasets.html#steam_data — files
``https://cseweb.ucsd.edu/~wckang/steam_reviews.json.gz`` (7.8 M reviews) and
``https://cseweb.ucsd.edu/~wckang/steam_games.json.gz`` (32 K games). Both are gzipped with
one *Python dict literal* per line (single quotes, ``True``), parsed with
:func:`ast.literal_eval`, not JSON.

Reviews: ``username, hours, products, product_id, page_order, date`` (``YYYY-MM-DD``),
``text, early_access, page`` and, on a minority of lines, ``user_id, found_funny,
compensation``. A user is keyed by ``user_id`` where the line has one and by ``username``
otherwise (the file's own sparse ids cannot join the rest). There is no star rating and no
recommend flag in this file (that flag is in the separate "Australian" reviews), so
``rating`` is NaN and the hours played are kept as the interaction ``weight`` — the signal
liked/disliked are derived from (most vs. least played among the user's reviewed games).
Empty review texts are kept as interactions but not as texts.

Games: ``id, app_name, title, genres, tags, specs, publisher, developer, release_date,
price, sentiment, metascore, …``; the title is ``app_name``, else ``title``.

Versions. Two Steam datasets are published on that page, and both are read:

- *full* (Kang & McAuley 2018, SASRec's "Steam"): ``steam_reviews.json.gz`` (7.8M reviews,
  2.5M users, no star rating) + ``steam_games.json.gz``;
- *Australian* (Kang & McAuley / Wan & McAuley, 2017–18): ``australian_user_reviews.json``
  (59K reviews by 25K users, each line a user with a list of reviews: ``item_id``,
  ``posted`` like ``Posted November 5, 2011.``, ``recommend``, ``review``) and
  ``australian_users_items.json`` (88K users' libraries: ``item_id, item_name,
  playtime_forever`` in minutes), with ``steam_games.json.gz`` for genres and tags when present.

The paper cites Kang & McAuley's SASRec data, i.e. the full version, which is the default
when both are present; its Steam cells (IR 6,228, TUI 6,250) are sizes either version can
supply, so the counts alone cannot tell which copy was used. The report notes the version
read. Gzipped files are also accepted gunzipped or named ``.jsonl`` (see ``file_variants``).

Counted per reason in the report: duplicate game ids (the first line is kept), release dates
that are not ISO (``Dec 2017``, ``Q1 2018``: the year is read from them), release dates with
no year (year left empty), Australian reviews whose date has no year (``Posted July 15.``:
the crawl's, i.e. the latest year in the file, is assumed).

Terms: published for research by the McAuley lab; no license is stated. Cite Kang &
McAuley (2018) and Wan & McAuley (2018).
"""

from __future__ import annotations

import math
import re
from array import array
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import BuildConfig
from ..errors import DataError
from ..readers.budget import BadLines, BadValue, Degraded, iso_seconds
from ..readers.jsonl import Interner, LineTextStore, iter_numbered
from ..readers.opening import require_file
from ..tables import FrameTextStore, SourceTables
from .base import Source, register_source

REVIEWS = "steam_reviews.json.gz"
GAMES = "steam_games.json.gz"
AUS_REVIEWS = "australian_user_reviews.json.gz"
AUS_ITEMS = "australian_users_items.json.gz"
_YEAR = re.compile(r"\b(19[7-9]\d|20\d\d)\b")
_POSTED = re.compile(r"Posted\s+([A-Z][a-z]+)\s+(\d{1,2})(?:,\s*(\d{4}))?")
TOP_TAGS = 5


@register_source
class Steam(Source):
    name = "steam"
    title = "Steam (UCSD)"
    homepage = "https://cseweb.ucsd.edu/~jmcauley/datasets.html#steam_data"
    license = "Released by the McAuley lab (UCSD) for research; no explicit license"
    citation = """@inproceedings{kang2018self,
  title={Self-Attentive Sequential Recommendation}, author={Kang, Wang-Cheng and McAuley, Julian},
  booktitle={ICDM}, year={2018}
}
@inproceedings{wan2018item,
  title={Item Recommendation on Monotonic Behavior Chains}, author={Wan, Mengting and McAuley, Julian},
  booktitle={RecSys}, year={2018}
}"""
    required_files = (REVIEWS, GAMES)
    folder_names = ("steam",)
    manual_download = (
        "Download https://cseweb.ucsd.edu/~wckang/steam_reviews.json.gz and "
        "https://cseweb.ucsd.edu/~wckang/steam_games.json.gz into one folder and pass --data-dir."
    )
    demo_folder = "steam"
    alternative_files = f"or the Australian version: {AUS_REVIEWS} with {AUS_ITEMS} and/or {GAMES}"
    fix = "download steam_reviews.json.gz and steam_games.json.gz again from cseweb.ucsd.edu/~wckang/"

    def find_in(self, data_dir: Path) -> Path | None:
        """A folder with the full version's two files, or with the Australian reviews."""
        found = super().find_in(data_dir)
        if found is not None:
            return found
        for candidate in self.candidate_dirs(data_dir):
            if self.file_in(candidate, AUS_REVIEWS) and (self.file_in(candidate, AUS_ITEMS) or self.file_in(candidate, GAMES)):
                return candidate
        return None

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        if self.file_in(root, REVIEWS) is None and self.file_in(root, AUS_REVIEWS) is not None:
            return self._read_australian(root, config)
        items, games_notes = self._read_games(self.path(root, GAMES), config)
        reviews = self.path(root, REVIEWS)
        interactions, reviews_bad = self._read_reviews(reviews, config)
        texts = interactions.loc[interactions["has_text"], ["user", "item", "timestamp", "weight", "line"]]
        return SourceTables(
            name=self.name,
            interactions=interactions.drop(columns=["line", "has_text"]),
            items=items,
            texts=LineTextStore(reviews, texts, "text", parse="python"),
            item_noun="game",
            skipped_lines=(*games_notes, reviews_bad.summary(),
                           {"file": str(reviews), "note": "Steam version: full (Kang & McAuley's steam_reviews)"}),
        )

    def _read_games(self, path: Path, config: BuildConfig) -> tuple[pd.DataFrame, list[dict]]:
        require_file(path, self.fix)
        bad = BadLines(path, config.max_bad_line_fraction, self.fix)
        numbered = list(iter_numbered(path, bad, parse="python", required=("id",), convert=_game))
        if not numbered:
            raise DataError(path, "no readable game lines", fix=self.fix)
        duplicate = Degraded(path, "duplicate game id: the first line is kept", seen=len(numbered))
        not_iso = Degraded(path, "release date not ISO: year read from it", seen=len(numbered))
        no_year = Degraded(path, "release date without a year: year left empty", seen=len(numbered))
        rows, seen = [], set()
        for number, (row, release) in numbered:
            if row[0] in seen:
                duplicate.add(number, f"id {row[0]!r}")
                continue
            seen.add(row[0])
            if release and not _ISO.match(release):
                (not_iso if row[4] else no_year).add(number, repr(release))
            rows.append(row)
        items = pd.DataFrame(rows, columns=["item", "title", "categories", "tags", "year", "details"])
        return items.set_index("item"), [bad.summary(), duplicate.summary(), not_iso.summary(), no_year.summary()]

    def _read_australian(self, root: Path, config: BuildConfig) -> SourceTables:
        """The Australian version: reviews grouped per user, play time from the users' libraries."""
        path = self.path(root, AUS_REVIEWS)
        require_file(path, self.fix)
        notes: list[dict] = []
        hours: dict[tuple[str, str], float] = {}
        names: dict[str, str] = {}
        library = self.file_in(root, AUS_ITEMS)
        if library is not None:
            bad = BadLines(library, config.max_bad_line_fraction, self.fix)
            for _, (user, owned) in iter_numbered(library, bad, parse="python", required=("user_id",), convert=_library):
                for item, name, minutes in owned:
                    hours[(user, item)] = minutes / 60.0
                    if name:
                        names.setdefault(item, name)
            notes.append(bad.summary())
        bad = BadLines(path, config.max_bad_line_fraction, self.fix)
        rows = []
        for number, (user, reviews) in iter_numbered(path, bad, parse="python", required=("user_id",), convert=_user_reviews):
            rows.extend((user, item, month, day, year, text, number) for item, month, day, year, text in reviews)
        notes.append(bad.summary())
        if not rows:
            raise DataError(path, "no readable reviews", fix=self.fix)
        crawl_year = max((r[4] for r in rows if r[4]), default=2016)
        undated = Degraded(path, f"review date without a year: {crawl_year} (the latest in the file) assumed", seen=len(rows))
        users, items, stamps, weights, texts = [], [], [], [], []
        for user, item, month, day, year, text, number in rows:
            if not year:
                undated.add(number, f"user {user}, item {item}")
            try:
                moment = datetime.strptime(f"{month} {day} {year or crawl_year}", "%B %d %Y")
            except ValueError:
                moment = datetime(year or crawl_year, 1, 1)
                undated.add(number, f"user {user}, item {item}: unreadable date {month} {day}")
            users.append(user)
            items.append(item)
            stamps.append(int(moment.replace(tzinfo=timezone.utc).timestamp()))
            weights.append(hours.get((user, item), math.nan))
            texts.append(text)
        interactions = pd.DataFrame({
            "user": users, "item": items, "rating": np.full(len(users), np.nan, dtype=np.float32),
            "timestamp": np.asarray(stamps, dtype=np.int64), "weight": np.asarray(weights, dtype=np.float32),
        })
        if self.file_in(root, GAMES) is not None:
            games, game_notes = self._read_games(self.path(root, GAMES), config)
            notes.extend(game_notes)
        else:
            games = pd.DataFrame(columns=["title", "categories", "tags", "year", "details"], index=pd.Index([], name="item"))
        extra = sorted(set(names) - set(games.index))
        if extra:  # games only the libraries name: a title, nothing else
            games = pd.concat([games, pd.DataFrame(
                {"title": [names[i] for i in extra], "categories": [[] for _ in extra], "tags": [[] for _ in extra],
                 "year": ["" for _ in extra], "details": [{} for _ in extra]},
                index=pd.Index(extra, name="item"))])
        frame = interactions.assign(text=texts)[["user", "item", "timestamp", "text"]]
        notes.append({"file": str(path), "note": "Steam version: Australian (australian_user_reviews"
                      + (" + australian_users_items" if library is not None else "") + ")"})
        notes.append(undated.summary())
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=games,
            texts=FrameTextStore(frame[frame["text"].str.strip() != ""]),
            item_noun="game",
            skipped_lines=tuple(notes),
        )

    def _read_reviews(self, path: Path, config: BuildConfig) -> tuple[pd.DataFrame, BadLines]:
        require_file(path, self.fix)
        bad = BadLines(path, config.max_bad_line_fraction, self.fix)
        users, games = Interner(), Interner()
        user_codes, item_codes, times, lines = array("i"), array("i"), array("q"), array("q")
        hours, has_text = array("f"), array("b")
        for number, (user, item, when, played, text) in iter_numbered(
            path, bad, parse="python", required=("username", "product_id", "date"), convert=_review
        ):
            user_codes.append(users(user))
            item_codes.append(games(item))
            times.append(when)
            hours.append(played)
            has_text.append(text)
            lines.append(number)
        if not lines:
            raise DataError(path, "no readable review lines", fix=self.fix)
        return pd.DataFrame(
            {
                "user": users.strings(user_codes),
                "item": games.strings(item_codes),
                "rating": np.full(len(lines), np.nan, dtype=np.float32),
                "timestamp": np.frombuffer(times, dtype=np.int64),
                "weight": np.frombuffer(hours, dtype=np.float32),
                "has_text": np.frombuffer(has_text, dtype=np.int8).astype(bool),
                "line": np.frombuffer(lines, dtype=np.int64),
            }
        ), bad


def _review(record: dict) -> tuple[str, str, int, float, bool]:
    user = str(record.get("user_id") or record["username"])
    raw_hours = record.get("hours")
    try:
        played = float(raw_hours) if raw_hours is not None else math.nan
    except (TypeError, ValueError):
        raise BadValue("hours", f"not a number: {raw_hours!r}") from None
    text = record.get("text")
    return user, str(record["product_id"]), iso_seconds(record["date"], "date"), played, bool(str(text or "").strip())


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}$")


def _library(record: dict) -> tuple[str, list[tuple[str, str, float]]]:
    owned = []
    for entry in record.get("items") or ():
        if isinstance(entry, dict) and entry.get("item_id") not in (None, ""):
            try:
                minutes = float(entry.get("playtime_forever") or 0)
            except (TypeError, ValueError):
                minutes = math.nan
            owned.append((str(entry["item_id"]), " ".join(str(entry.get("item_name") or "").split()), minutes))
    return str(record["user_id"]), owned


def _user_reviews(record: dict) -> tuple[str, list[tuple[str, str, int, int, str]]]:
    reviews = record.get("reviews")
    if not isinstance(reviews, list):
        raise BadValue("reviews", "not a list")
    out = []
    for review in reviews:
        if not isinstance(review, dict) or review.get("item_id") in (None, ""):
            raise BadValue("reviews", "a review without item_id")
        posted = _POSTED.search(str(review.get("posted") or ""))
        if posted is None:
            raise BadValue("posted", f"not a date: {review.get('posted')!r}")
        month, day, year = posted.group(1), int(posted.group(2)), int(posted.group(3) or 0)
        out.append((str(review["item_id"]), month, day, year, str(review.get("review") or "")))
    return str(record["user_id"]), out


def _game(record: dict) -> tuple[tuple[str, str, list[str], list[str], str, dict[str, str]], str]:
    title = " ".join(str(record.get("app_name") or record.get("title") or "").split())
    if not title:
        raise BadValue("app_name", "no app_name or title")
    details = {k: " ".join(str(record[k]).split()) for k in ("developer", "publisher") if record.get(k)}
    specs = _strings(record.get("specs"))
    if specs:
        details["features"] = ", ".join(specs[:TOP_TAGS])
    release = str(record.get("release_date") or "").strip()
    found = _YEAR.search(release)  # ISO, or 'Dec 2017', 'Q1 2018', 'Jan 5, 2018'
    year = release[:4] if _ISO.match(release) else (found.group(1) if found else "")
    return (str(record["id"]), title, _strings(record.get("genres")), _strings(record.get("tags"))[:TOP_TAGS], year,
            details), release


def _strings(value: object) -> list[str]:
    return [str(v).strip() for v in value if str(v).strip()] if isinstance(value, (list, tuple)) else []
