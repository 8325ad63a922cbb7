"""Synthetic raw files in the Amazon Reviews 2023 layout, written by us.

Per category ``{Cat}.jsonl.gz`` (one review per line: ``rating, title, text, images, asin,
parent_asin, user_id, timestamp`` in milliseconds, ``helpful_vote, verified_purchase``) and
``meta_{Cat}.jsonl.gz`` (one item per line: ``main_category, title, average_rating,
rating_number, features, description, price, images, videos, store, categories, details,
parent_asin, bought_together``), the field order and ``json.dumps`` spacing of the real files
(non-ASCII escaped, as McAuley Lab's dumps are). Users are shared across categories and like a
few of them, so cross-domain pairs have common users; items have a popularity skew, so some
items have enough reviewers for target user identification. Nothing is copied from Amazon.

The same writer makes the bundled demo (a few KB per category), the test fixtures and the
benchmark's multi-GB category (``write_category`` with ``processes`` > 1 writes gzip members
in parallel; concatenated members are a valid gzip file, as ``gzip -dc`` and the reader agree).
"""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..sources.amazon_2023 import PAPER_CATEGORIES

_NOUNS = ["Kit", "Set", "Pack", "Bundle", "Edition", "Collection", "Series", "Organizer", "Holder", "Case",
          "Station", "Adapter", "Guide", "Album", "Tool", "Stand", "Box", "Lamp", "Mixer", "Controller"]
_ADJ = ["Classic", "Deluxe", "Compact", "Premium", "Portable", "Vintage", "Modern", "Ultra", "Smart", "Eco",
        "Pro", "Mini", "Grand", "Silent", "Bright", "Rapid", "Gentle", "Royal", "Urban", "Solar"]
_BRANDS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
           "Tyrell", "Cyberdyne", "Aperture", "Wonka", "Gringotts", "Duff", "Krusty", "Oceanic"]
_GOOD = ["great", "love", "excellent", "perfect", "sturdy", "works", "recommend", "happy", "beautiful", "value"]
_BAD = ["broke", "cheap", "returned", "disappointed", "flimsy", "poor", "waste", "stopped", "wrong", "smaller"]
_WORDS = ["the", "it", "this", "was", "for", "my", "and", "with", "quality", "price", "size", "color", "gift",
          "daughter", "kitchen", "use", "after", "week", "shipping", "box", "easy", "setup", "sound", "fit",
          "material", "design", "daily", "again", "still", "just", "really", "very", "but", "not", "as", "described"]


@dataclass(frozen=True)
class CategoryPlan:
    """What to write for one category; ``users`` are indices into the shared user pool."""

    name: str
    n_items: int
    n_reviews: int


def user_ids(n: int, seed: int) -> list[str]:
    """28-character ids of the shape Amazon 2023 uses (``AGKHLEW2SOWHNMFQIJGBECAF7INQ``)."""
    rng = np.random.default_rng([seed, 1])
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
    body = alphabet[rng.integers(0, len(alphabet), size=(n, 27))]
    return ["A" + "".join(row) for row in body]


def item_ids(category: str, n: int, seed: int) -> list[str]:
    """``B0`` + 8 characters, distinct across categories (the category's index is in the id)."""
    index = sum(ord(c) for c in category) % 997
    return [f"B0{index:03d}{i:05X}" for i in range(n)]


def _title(category: str, i: int) -> str:
    adj, noun = _ADJ[i % len(_ADJ)], _NOUNS[(i // len(_ADJ)) % len(_NOUNS)]
    brand = _BRANDS[(i * 7) % len(_BRANDS)]
    return f"{brand} {adj} {category.split('_')[0]} {noun} {i // 400 + 1}"


def meta_lines(category: str, n_items: int, seed: int, detail_words: int = 12) -> bytes:
    rng = np.random.default_rng([seed, 2, len(category)])
    ids = item_ids(category, n_items, seed)
    main = category.replace("_", " ")
    out = []
    for i, asin in enumerate(ids):
        brand = _BRANDS[(i * 7) % len(_BRANDS)]
        words = " ".join(rng.choice(_WORDS, size=detail_words))
        record = {
            "main_category": main,
            "title": _title(category, i),
            "average_rating": round(float(rng.uniform(2.5, 5.0)), 1),
            "rating_number": int(rng.integers(1, 5000)),
            "features": [f"{_ADJ[(i + k) % len(_ADJ)]} {words}" for k in range(2)],
            "description": [f"{words.capitalize()}."],
            "price": None if i % 5 == 0 else round(float(rng.uniform(3, 300)), 2),
            "images": [{"thumb": f"https://m.media-amazon.com/images/I/{asin}._SS40_.jpg",
                        "large": f"https://m.media-amazon.com/images/I/{asin}.jpg", "variant": "MAIN",
                        "hi_res": None}],
            "videos": [],
            "store": brand,
            "categories": [main, _NOUNS[i % len(_NOUNS)] + "s"] if i % 4 else [],
            "details": {"Brand": brand, "Manufacturer": f"{brand} Inc.", "Item Weight": f"{1 + i % 9} pounds",
                        "Best Sellers Rank": {main: int(rng.integers(1, 100000))}},
            "parent_asin": asin,
            "bought_together": None,
        }
        out.append(json.dumps(record))
    return ("\n".join(out) + "\n").encode("ascii")


def review_lines(category: str, plan: CategoryPlan, users: list[str], weights: np.ndarray, seed: int,
                 chunk: int = 0, n_chunks: int = 1, text_words: tuple[int, int] = (8, 30)) -> bytes:
    """Reviews of one category (``chunk`` of ``n_chunks``); users drawn by ``weights``, items by popularity."""
    rng = np.random.default_rng([seed, 3, len(category), chunk])
    ids = item_ids(category, plan.n_items, seed)
    n = plan.n_reviews // n_chunks + (1 if chunk < plan.n_reviews % n_chunks else 0)
    popularity = np.random.default_rng([seed, 4, len(category)]).pareto(1.1, size=plan.n_items) + 1
    items = rng.choice(plan.n_items, size=n, p=popularity / popularity.sum())
    who = rng.choice(len(users), size=n, p=weights / weights.sum())
    # one review per (user, item), as in most of the real files (the reader also drops repeats)
    first = np.unique(who.astype(np.int64) * plan.n_items + items, return_index=True)[1]
    keep = np.zeros(n, dtype=bool)
    keep[first] = True
    items, who, n = items[keep], who[keep], int(keep.sum())
    quality = np.random.default_rng([seed, 5, len(category)]).normal(4.0, 0.6, size=plan.n_items)
    ratings = np.clip(np.rint(quality[items] + rng.normal(0, 0.8, size=n)), 1, 5)
    # each user's reviews fall in their own active period, so histories are chronological runs
    start = np.random.default_rng([seed, 6]).integers(1_300_000_000_000, 1_650_000_000_000, size=len(users))
    stamps = start[who] + rng.integers(0, 40_000_000_000, size=n)
    # texts are runs of short phrases drawn from a seeded pool: cheap to make at GB scale
    phrases = [" ".join(p) for p in np.random.default_rng([seed, 8]).choice(_WORDS, size=(4096, 4)).tolist()]
    lengths = rng.integers(max(1, text_words[0] // 4), max(1, text_words[1] // 4) + 1, size=n)
    picks = rng.integers(0, len(phrases), size=int(lengths.sum())).tolist()
    offsets = np.r_[0, np.cumsum(lengths)].tolist()
    votes = (rng.integers(1, 40, size=n) * (np.arange(n) % 7 == 0)).tolist()
    ratings, items, who, stamps = ratings.tolist(), items.tolist(), who.tolist(), stamps.tolist()
    out = []
    for k in range(n):
        good = ratings[k] >= 4
        mood = (_GOOD if good else _BAD)[items[k] % 10]
        text = f"{mood.capitalize()} " + " ".join([phrases[j] for j in picks[offsets[k]:offsets[k + 1]]]) + "."
        asin = ids[items[k]]
        record = {
            "rating": ratings[k],
            "title": ("Five stars" if ratings[k] == 5 else f"{mood.capitalize()} {category.split('_')[0].lower()}"),
            "text": text,
            "images": [] if k % 13 else [{"small_image_url": f"https://m.media-amazon.com/images/I/{asin}._SL256_.jpg",
                                          "medium_image_url": f"https://m.media-amazon.com/images/I/{asin}._SL800_.jpg",
                                          "large_image_url": f"https://m.media-amazon.com/images/I/{asin}.jpg",
                                          "attachment_type": "IMAGE"}],
            "asin": asin if k % 3 else asin[:-1] + "Z",
            "parent_asin": asin,
            "user_id": users[who[k]],
            "timestamp": stamps[k],
            "helpful_vote": votes[k],
            "verified_purchase": bool(k % 4),
        }
        out.append(json.dumps(record))
    return ("\n".join(out) + "\n").encode("ascii") if out else b""


PARTNERS = (("Appliances", "Industrial_and_Scientific"), ("All_Beauty", "Amazon_Fashion"),
            ("CDs_and_Vinyl", "Video_Games"), ("Grocery_and_Gourmet_Food", "Home_and_Kitchen"))


def category_weights(categories: list[str], n_users: int, seed: int) -> dict[str, np.ndarray]:
    """Per category, how likely each user is to write its next review (taste × activity).

    Most users who like a category of a cross-domain pair (``PARTNERS``) like its partner too,
    as buyers of games buy music: the pairs then have the shared users CDR needs.
    """
    rng = np.random.default_rng([seed, 7])
    activity = rng.pareto(2.0, size=n_users) + 1
    index = {c: j for j, c in enumerate(categories)}
    partner = {a: b for x, y in PARTNERS for a, b in ((x, y), (y, x)) if x in index and y in index}
    likes = np.zeros((n_users, len(categories)), dtype=bool)
    for u in range(n_users):
        for j in rng.choice(len(categories), size=min(len(categories), 1 + u % 2), replace=False):
            likes[u, j] = True
            if categories[j] in partner and u % 10 < 7:
                likes[u, index[partner[categories[j]]]] = True
    return {c: activity * (likes[:, j] + 0.02) for j, c in enumerate(categories)}


def write_amazon_2023(folder: Path, *, categories: tuple[str, ...] | list[str] = PAPER_CATEGORIES, n_users: int = 60,
                      n_items: int = 30, n_reviews: int = 150, seed: int = 0, compress: bool = True,
                      text_words: tuple[int, int] = (8, 30)) -> Path:
    """Every category's review and meta file in one folder, as the real download unpacks."""
    folder.mkdir(parents=True, exist_ok=True)
    categories = list(categories)
    users = user_ids(n_users, seed)
    weights = category_weights(categories, n_users, seed)
    for category in categories:
        plan = CategoryPlan(category, n_items, n_reviews)
        _write(folder, category, review_lines(category, plan, users, weights[category], seed, text_words=text_words),
               meta_lines(category, n_items, seed), compress)
    return folder


def _write(folder: Path, category: str, reviews: bytes, meta: bytes, compress: bool) -> None:
    suffix = ".jsonl.gz" if compress else ".jsonl"
    for name, data in ((f"{category}{suffix}", reviews), (f"meta_{category}{suffix}", meta)):
        if compress:
            # mtime=0: the bytes depend on the content alone, so the demo is reproducible
            (folder / name).write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        else:
            (folder / name).write_bytes(data)


@lru_cache(maxsize=2)
def _user_pool(categories: tuple[str, ...], n_users: int, seed: int) -> tuple[list[str], dict[str, np.ndarray]]:
    return user_ids(n_users, seed), category_weights(list(categories), n_users, seed)


def _review_member(args) -> bytes:
    category, plan, categories, n_users, seed, chunk, n_chunks, text_words = args
    users, weights = _user_pool(categories, n_users, seed)
    data = review_lines(category, plan, users, weights[category], seed, chunk, n_chunks, text_words)
    return gzip.compress(data, compresslevel=1, mtime=0)


def write_large(folder: Path, *, categories: list[str], reviews_per_category: int, items_per_category: int,
                n_users: int, seed: int = 0, processes: int = 2, chunk_reviews: int = 200_000,
                text_words: tuple[int, int] = (40, 160)) -> list[Path]:
    """Benchmark scale: each review file is written as gzip members generated in parallel."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with ProcessPoolExecutor(processes) as pool:
        for category in categories:
            plan = CategoryPlan(category, items_per_category, reviews_per_category)
            n_chunks = max(1, reviews_per_category // chunk_reviews)
            jobs = [(category, plan, tuple(categories), n_users, seed, c, n_chunks, text_words) for c in range(n_chunks)]
            path = folder / f"{category}.jsonl.gz"
            with open(path, "wb") as fh:
                fh.writelines(pool.map(_review_member, jobs))
            meta = folder / f"meta_{category}.jsonl.gz"
            meta.write_bytes(gzip.compress(meta_lines(category, items_per_category, seed), compresslevel=1, mtime=0))
            written += [path, meta]
    return written


def write_demo(folder: Path) -> Path:
    """The bundled ``--demo`` copy (``itdr_hf/demo/amazon_2023``, ~145 KB): every paper category and CDR pair."""
    return write_amazon_2023(folder, n_users=40, n_items=60, n_reviews=340, seed=3, text_words=(3, 10))
