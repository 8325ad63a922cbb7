"""Synthetic raw files in the MicroLens-100k and PixelRec (Pixel200K) layouts, written by us.

Both come from Westlake University's short-video platform releases. MicroLens-100k:
``MicroLens-100k_pairs.csv`` (header ``user,item,timestamp``, integer ids, times in
milliseconds), ``MicroLens-100k_title_en.csv`` (no header: ``item,title``, CSV quoting),
``tags_to_summary.csv`` (no header: ``item,category``) and ``MicroLens-100k_comment_en.txt``
(TAB, no header: ``user, item, comment``). PixelRec: ``interactions/Pixel200K.csv`` (header
``item_id,user_id,timestamp``, ids ``i123``/``u45``) and ``item_info/Pixel200K.csv`` (header,
with engagement counts, ``title_en, title, description, tag``). Users watch videos of their
favourite categories. Nothing is copied from either dataset.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

CATEGORIES = ["Food", "Travel", "Gaming", "Pets", "Fitness", "Music", "Comedy", "Science", "Fashion", "Cars"]
CATEGORIES_ZH = ["美食", "旅行", "游戏", "萌宠", "健身", "音乐", "搞笑", "科普", "时尚", "汽车"]
_HOOK = ["How I made", "Trying", "Ranking", "The truth about", "A day with", "Unboxing", "Testing", "Why everyone loves"]
_THING = ["street noodles", "a mountain trail", "retro consoles", "my lazy cat", "a 5-minute workout",
          "a piano cover", "office pranks", "volcano experiments", "winter outfits", "an old sports car", "dumplings",
          "night markets"]
_COMMENTS = ["so relaxing to watch", "need part two", "this made my day", "learned something new",
             "the music is perfect", "tried it, works", "not my thing", "too long, skipped"]


def _events(cat: np.ndarray, n_users: int, per_user: int, rng: np.random.Generator):
    """(user, item, seconds) rows: each user watches videos of two favourite categories, plus a few others."""
    n_items = len(cat)
    taste = rng.integers(0, len(CATEGORIES), size=n_users)
    for u in range(n_users):
        own = np.flatnonzero((cat == taste[u]) | (cat == (taste[u] + 3) % len(CATEGORIES)))
        pool = np.concatenate([own, own, rng.integers(0, n_items, size=len(own))])
        items = list(dict.fromkeys(rng.choice(pool, size=per_user * 2).tolist()))[:per_user]
        start = int(rng.integers(1_650_000_000, 1_670_000_000))
        for k, item in enumerate(items):
            yield u, item, start + 3600 * k + int(rng.integers(0, 3000))


def _title(i: int) -> str:
    base = f"{_HOOK[i % len(_HOOK)]} {_THING[(i // len(_HOOK)) % len(_THING)]}"
    return base if i < len(_HOOK) * len(_THING) else f"{base}, part {i // (len(_HOOK) * len(_THING)) + 1}"


def write_microlens(folder: Path, *, n_users: int, n_items: int, per_user: int, comments_per_item: int = 4,
                    seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    cat = rng.integers(0, len(CATEGORIES), size=n_items)
    events = list(_events(cat, n_users, per_user, rng))
    with open(folder / "MicroLens-100k_pairs.csv", "w", newline="", encoding="utf-8") as fh:
        fh.write("user,item,timestamp\n")
        fh.writelines(f"{u + 1},{i + 1},{t * 1000 + int(rng.integers(0, 1000))}\n" for u, i, t in events)
    with open(folder / "MicroLens-100k_title_en.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for i in range(n_items):
            writer.writerow([i + 1, _title(i)])
    with open(folder / "tags_to_summary.csv", "w", newline="", encoding="utf-8") as fh:
        for i in range(n_items):
            fh.write(f"{i + 1},{CATEGORIES[cat[i]]}\n")
    by_item: dict[int, list[int]] = {}
    for u, i, _ in events:
        by_item.setdefault(i, []).append(u)
    with open(folder / "MicroLens-100k_comment_en.txt", "w", newline="", encoding="utf-8") as fh:
        for i in sorted(by_item):
            for u in by_item[i][:comments_per_item]:
                text = _COMMENTS[int(rng.integers(len(_COMMENTS)))]
                fh.write(f"{u + 1}\t{i + 1}\t{text}{chr(9) + 'lol' if (u + i) % 29 == 0 else ''}\n")
    return folder


def write_pixelrec(folder: Path, *, n_users: int, n_items: int, per_user: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    (folder / "interactions").mkdir(parents=True, exist_ok=True)
    (folder / "item_info").mkdir(parents=True, exist_ok=True)
    cat = rng.integers(0, len(CATEGORIES), size=n_items)
    events = list(_events(cat, n_users, per_user, rng))
    with open(folder / "interactions" / "Pixel200K.csv", "w", newline="", encoding="utf-8") as fh:
        fh.write("item_id,user_id,timestamp\n")
        fh.writelines(f"i{i},u{u},{t}\n" for u, i, t in events)
    with open(folder / "item_info" / "Pixel200K.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["item_id", "view_number", "comment_number", "thumbup_number", "share_number", "coin_number",
                         "favorite_number", "barrage_number", "title_en", "title", "description", "tag"])
        for i in range(n_items):
            counts = rng.integers(0, 5000, size=7).tolist()
            english = "" if i % 13 == 7 else _title(i)
            writer.writerow([f"i{i}", *counts, english, f"视频{i}：{CATEGORIES_ZH[cat[i]]}",
                             f"A short video about {CATEGORIES[cat[i]].lower()},\nwith a second line." if i % 5 else "",
                             CATEGORIES_ZH[cat[i]]])
    return folder
