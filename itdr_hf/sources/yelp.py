"""Yelp Open Dataset: star ratings and reviews of local businesses.

Homepage: https://business.yelp.com/data/resources/open-dataset/ (``Yelp-JSON.zip`` holding
``yelp_dataset.tar``; Kaggle mirror ``yelp-dataset/yelp-dataset``). About 7 M reviews of 150 K
businesses by 2 M users. Manual download: the Dataset User Agreement must be accepted.

Files (JSON lines, UTF-8): ``yelp_academic_dataset_review.json`` (``review_id, user_id,
business_id, stars`` 1–5 whole stars, ``useful, funny, cool, text, date`` as ``YYYY-MM-DD
HH:MM:SS``), ``yelp_academic_dataset_business.json`` (``business_id, name, address, city,
state, …, attributes`` — a dict whose values are *strings* of Python literals: ``"True"``,
``"u'free'"``, ``"{'casual': True, …}"`` — and ``categories``, one comma-separated string or
null). ``yelp_academic_dataset_user.json`` has no demographics and nothing the subtasks use,
so it is not read. The review file is ~5 GB: it is streamed once for ids, stars and dates,
and the texts a build shows are re-read by line number (:class:`~.lines.LineTextStore`).

Terms: Yelp Dataset User Agreement — non-commercial, academic use; no redistribution.
"""

from __future__ import annotations

import ast
from array import array
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import BuildConfig
from ..errors import DataError
from ..readers.budget import BadLines, BadValue, iso_seconds
from ..readers.jsonl import Interner, LineTextStore, iter_numbered
from ..readers.opening import require_file
from ..tables import SourceTables
from .base import Source, register_source

REVIEWS = "yelp_academic_dataset_review.json"
BUSINESSES = "yelp_academic_dataset_business.json"
MAX_FEATURES = 8
_NO = {"False", "None", "", "'no'", "u'no'", "'none'", "u'none'"}


@register_source
class Yelp(Source):
    name = "yelp"
    title = "Yelp Open Dataset"
    homepage = "https://business.yelp.com/data/resources/open-dataset/"
    license = "Yelp Dataset User Agreement: non-commercial academic use, no redistribution"
    citation = """@misc{yelp_open_dataset,
  title={Yelp Open Dataset}, author={{Yelp Inc.}},
  howpublished={\\url{https://business.yelp.com/data/resources/open-dataset/}}
}"""
    required_files = (REVIEWS, BUSINESSES)
    folder_names = ("yelp_dataset", "yelp-dataset", "Yelp JSON/yelp_dataset")
    manual_download = (
        "Accept the Yelp Dataset User Agreement at https://business.yelp.com/data/resources/open-dataset/ "
        "(or Kaggle yelp-dataset/yelp-dataset), unpack it and pass --data-dir."
    )
    demo_folder = "yelp"
    fix = "download the Yelp Open Dataset JSON and unpack yelp_dataset.tar"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        items, business_bad = self._read_businesses(root / BUSINESSES, config)
        interactions, review_bad = self._read_reviews(root / REVIEWS, config)
        texts = interactions[["user", "item", "rating", "timestamp", "line"]]
        return SourceTables(
            name=self.name,
            interactions=interactions.drop(columns=["line"]),
            items=items,
            texts=LineTextStore(root / REVIEWS, texts, "text"),
            rating_scale=(1.0, 5.0),
            item_noun="business",
            skipped_lines=(business_bad.summary(), review_bad.summary()),
        )

    def _read_businesses(self, path: Path, config: BuildConfig) -> tuple[pd.DataFrame, BadLines]:
        bad = BadLines(path, config.max_bad_line_fraction, self.fix)
        require_file(path, self.fix)
        rows = [
            record
            for _, record in iter_numbered(path, bad, required=("business_id", "name"), convert=_business)
        ]
        if not rows:
            raise DataError(path, "no readable business lines", fix=self.fix)
        items = pd.DataFrame(rows, columns=["item", "title", "categories", "details"]).drop_duplicates("item")
        return items.set_index("item"), bad

    def _read_reviews(self, path: Path, config: BuildConfig) -> tuple[pd.DataFrame, BadLines]:
        bad = BadLines(path, config.max_bad_line_fraction, self.fix)
        require_file(path, self.fix)
        users, businesses = Interner(), Interner()
        user_codes, item_codes, lines = array("i"), array("i"), array("q")
        stars, times = array("f"), array("q")
        for number, (user, item, rating, when) in iter_numbered(
            path, bad, required=("user_id", "business_id", "stars", "date", "text"), convert=_review
        ):
            user_codes.append(users(user))
            item_codes.append(businesses(item))
            stars.append(rating)
            times.append(when)
            lines.append(number)
        if not lines:
            raise DataError(path, "no readable review lines", fix=self.fix)
        frame = pd.DataFrame(
            {
                "user": users.strings(user_codes),
                "item": businesses.strings(item_codes),
                "rating": np.frombuffer(stars, dtype=np.float32),
                "timestamp": np.frombuffer(times, dtype=np.int64),
                "line": np.frombuffer(lines, dtype=np.int64),
            }
        )
        return frame, bad


def _review(record: dict) -> tuple[str, str, float, int]:
    try:
        stars = float(record["stars"])
    except (TypeError, ValueError):
        raise BadValue("stars", f"not a number: {record['stars']!r}") from None
    if not 1 <= stars <= 5:
        raise BadValue("stars", f"{stars} is outside 1–5")
    return str(record["user_id"]), str(record["business_id"]), stars, iso_seconds(record["date"], "date")


def _business(record: dict) -> tuple[str, str, list[str], dict[str, str]]:
    categories = [c.strip() for c in str(record.get("categories") or "").split(",") if c.strip()]
    details = {}
    place = ", ".join(str(record[k]).strip() for k in ("city", "state") if str(record.get(k) or "").strip())
    if place:
        details["location"] = place
    features = _features(record.get("attributes"))
    if features:
        details["features"] = ", ".join(features)
    return str(record["business_id"]), " ".join(str(record["name"]).split()), categories, details


def _features(attributes: object) -> list[str]:
    """Attributes as short phrases: ``BikeParking``, ``WiFi: free``, ``Ambience: casual``.

    Yelp stores every value as the string of a Python literal; false, none and 'no' values are
    left out, and at most ``MAX_FEATURES`` are kept (sorted by name, for determinism).
    """
    if not isinstance(attributes, dict):
        return []
    out = []
    for key in sorted(attributes):
        value = str(attributes[key]).strip()
        if value in _NO:
            continue
        if value == "True":
            out.append(key)
            continue
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = value
        if isinstance(parsed, dict):
            chosen = sorted(k for k, v in parsed.items() if v is True)
            if chosen:
                out.append(f"{key}: {', '.join(chosen)}")
        elif parsed not in (False, None, "no", "none"):
            out.append(f"{key}: {parsed}")
        if len(out) == MAX_FEATURES:
            break
    return out
