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

Terms: published for research by the McAuley lab; no license is stated. Cite Kang &
McAuley (2018) and Wan & McAuley (2018).
"""

from __future__ import annotations

import math
from array import array
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import BuildConfig
from ..errors import DataError
from ..tables import SourceTables
from .base import Source, register_source
from .lines import BadLines, BadValue, Interner, LineTextStore, iter_numbered
from .textio import require_file
from .yelp import _epoch

REVIEWS = "steam_reviews.json.gz"
GAMES = "steam_games.json.gz"
TOP_TAGS = 5


@register_source("steam")
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
    fix = "download steam_reviews.json.gz and steam_games.json.gz again from cseweb.ucsd.edu/~wckang/"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        items, games_bad = self._read_games(root / GAMES, config)
        interactions, reviews_bad = self._read_reviews(root / REVIEWS, config)
        texts = interactions.loc[interactions["has_text"], ["user", "item", "timestamp", "weight", "line"]]
        return SourceTables(
            name=self.name,
            interactions=interactions.drop(columns=["line", "has_text"]),
            items=items,
            texts=LineTextStore(root / REVIEWS, texts, "text", parse="python"),
            item_noun="game",
            skipped_lines=(games_bad.summary(), reviews_bad.summary()),
        )

    def _read_games(self, path: Path, config: BuildConfig) -> tuple[pd.DataFrame, BadLines]:
        require_file(path, self.fix)
        bad = BadLines(path, config.max_bad_line_fraction, self.fix)
        rows = [row for _, row in iter_numbered(path, bad, parse="python", required=("id",), convert=_game)]
        if not rows:
            raise DataError(path, "no readable game lines", fix=self.fix)
        items = pd.DataFrame(rows, columns=["item", "title", "categories", "tags", "year", "details"])
        return items.drop_duplicates("item").set_index("item"), bad

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
    return user, str(record["product_id"]), _epoch(record["date"], "date"), played, bool(str(text or "").strip())


def _game(record: dict) -> tuple[str, str, list[str], list[str], str, dict[str, str]]:
    title = " ".join(str(record.get("app_name") or record.get("title") or "").split())
    if not title:
        raise BadValue("app_name", "no app_name or title")
    details = {k: " ".join(str(record[k]).split()) for k in ("developer", "publisher") if record.get(k)}
    specs = _strings(record.get("specs"))
    if specs:
        details["features"] = ", ".join(specs[:TOP_TAGS])
    release = str(record.get("release_date") or "")
    year = release[:4] if release[:4].isdigit() else ""
    return str(record["id"]), title, _strings(record.get("genres")), _strings(record.get("tags"))[:TOP_TAGS], year, details


def _strings(value: object) -> list[str]:
    return [str(v).strip() for v in value if str(v).strip()] if isinstance(value, (list, tuple)) else []
