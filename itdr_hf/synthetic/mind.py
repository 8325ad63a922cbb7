"""Synthetic raw files in the MIND layout (Microsoft News Dataset), written by us.

``news.tsv`` (8 TAB-separated fields, no header: id, category, subcategory, title, abstract,
URL, title entities, abstract entities as JSON) and ``behaviors.tsv`` (impression id, user,
``M/D/YYYY H:MM:SS AM`` time, space-separated click history, ``N12-1 N7-0`` impressions).
A user's history is the same on every impression line, as in MIND; users click news of their
favourite categories. Nothing is copied from MIND.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CATEGORIES = {"sports": ["football_nfl", "basketball_nba"], "news": ["newsus", "newsworld"],
              "lifestyle": ["lifestylebuzz", "travel"], "finance": ["markets", "personalfinance"],
              "health": ["wellness", "nutrition"], "entertainment": ["movies", "music"]}
_SUBJECT = ["Local team", "City council", "New study", "Market rally", "Chef", "Star", "Senator", "Doctors"]
_VERB = ["surprises fans with", "announces", "warns about", "celebrates", "questions", "reveals"]
_OBJECT = ["late comeback", "new budget", "sleep habits", "record highs", "winter recipes", "tour dates",
           "holiday plans", "school reform"]


def write_mind(folder: Path, *, n_users: int, n_news: int, n_impressions: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    cats = list(CATEGORIES)
    news_cat = rng.integers(0, len(cats), size=n_news)
    ids = [f"N{10000 + 37 * i}" for i in range(n_news)]
    with open(folder / "news.tsv", "w", encoding="utf-8", newline="\n") as fh:
        for i, nid in enumerate(ids):
            cat = cats[news_cat[i]]
            sub = CATEGORIES[cat][i % 2]
            title = f"{_SUBJECT[i % len(_SUBJECT)]} {_VERB[(i // 8) % len(_VERB)]} {_OBJECT[(i // 48) % len(_OBJECT)]}"
            title += f" ({i})" if i >= 384 else ""
            abstract = "" if i % 10 == 3 else f"What readers should know about the {cat} story."
            entities = '[{"Label": "Example", "Type": "O", "WikidataId": "Q1", "Confidence": 1.0}]'
            fh.write(f"{nid}\t{cat}\t{sub}\t{title}\t{abstract}\thttps://assets.msn.com/{nid}.html\t{entities}\t[]\n")
    taste = rng.integers(0, len(cats), size=n_users)
    by_cat = {c: np.flatnonzero(news_cat == c) for c in range(len(cats))}
    histories = []
    for u in range(n_users):
        own = by_cat[taste[u]]
        histories.append([ids[i] for i in dict.fromkeys(rng.choice(own, size=min(len(own), 6), replace=True).tolist())])
    with open(folder / "behaviors.tsv", "w", encoding="utf-8", newline="\n") as fh:
        for n in range(n_impressions):
            u = n % n_users
            shown = rng.choice(n_news, size=5, replace=False)
            labels = ["1" if news_cat[i] == taste[u] and rng.random() < 0.8 else "0" for i in shown]
            day, second = 9 + n % 6, int(rng.integers(0, 86400))
            hour = second // 3600
            when = f"11/{day}/2019 {(hour % 12) or 12}:{second // 60 % 60:02d}:{second % 60:02d} {'AM' if hour < 12 else 'PM'}"
            history = " ".join(histories[u]) if u % 17 else ""  # some users have no history
            impressions = " ".join(f"{ids[i]}-{label}" for i, label in zip(shown, labels))
            fh.write(f"{n + 1}\tU{1000 + u}\t{when}\t{history}\t{impressions}\n")
    return folder
