"""Synthetic raw files in the real MovieLens formats, written by us.

They feed the bundled demo, the tests (which corrupt copies of them to check error messages)
and the benchmark (at MovieLens 32M scale). Users have a taste for a few genres and rate
movies of those genres higher, so the data has signal for every subtask, and nothing of the
real datasets is copied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

GENRES = [
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]
_ADJ = ["Silent", "Crimson", "Last", "Hidden", "Golden", "Broken", "Midnight", "Distant", "Wild", "Frozen",
        "Secret", "Burning", "Lonely", "Electric", "Velvet", "Iron", "Paper", "Glass", "Hollow", "Northern"]
_NOUN = ["Harbor", "Garden", "Empire", "River", "Letter", "Machine", "Station", "Kingdom", "Winter", "Circus",
         "Island", "Signal", "Orchard", "Lantern", "Canyon", "Mirror", "Voyage", "Frontier", "Citadel", "Melody"]
_TAGS = ["atmospheric", "funny", "twist ending", "slow", "visually stunning", "quotable", "dark", "heartwarming",
         "overrated", "classic", "great soundtrack", "thought-provoking", "violent", "feel-good", "cult film"]


def _titles(n: int, rng: np.random.Generator) -> list[str]:
    years = rng.integers(1950, 2024, size=n)
    titles = []
    for i in range(n):
        adj, noun = _ADJ[i % len(_ADJ)], _NOUN[(i // len(_ADJ)) % len(_NOUN)]
        series = i // (len(_ADJ) * len(_NOUN))
        base = f"The {adj} {noun}" + (f" {series + 1}" if series else "")
        titles.append(f"{base} ({years[i]})")
    return titles


def movie_table(n_items: int, rng: np.random.Generator) -> pd.DataFrame:
    first = rng.integers(0, len(GENRES), size=n_items)
    second = rng.integers(0, len(GENRES), size=n_items)
    genres = [GENRES[a] if a == b else "|".join(sorted({GENRES[a], GENRES[b]})) for a, b in zip(first, second)]
    return pd.DataFrame({"movieId": np.arange(1, n_items + 1), "title": _titles(n_items, rng), "genres": genres,
                         "_genre": first})


def rating_arrays(n_users: int, n_items: int, n_ratings: int, rng: np.random.Generator, item_genre: np.ndarray,
                  half_stars: bool = True, oversample: float = 1.0) -> dict[str, np.ndarray]:
    """Vectorised: 32M rows take seconds. Each user rates distinct items; duplicates are dropped.

    With ``oversample`` > 1, more pairs are drawn and a random subset of exactly ``n_ratings``
    distinct ones is kept, so the row count matches the real dataset despite duplicates.
    """
    target = n_ratings
    n_ratings = int(n_ratings * oversample)
    weights = rng.pareto(1.2, size=n_users) + 1
    per_user = np.maximum(rng.multinomial(n_ratings - 20 * n_users, weights / weights.sum()) + 20, 20)
    per_user = np.minimum(per_user, n_items)
    users = np.repeat(np.arange(1, n_users + 1, dtype=np.int32), per_user)
    popularity = rng.pareto(1.0, size=n_items) + 1
    cdf = np.cumsum(popularity / popularity.sum())
    items = np.searchsorted(cdf, rng.random(len(users)), side="right").clip(0, n_items - 1).astype(np.int32)
    keep = ~pd.DataFrame({"u": users, "i": items}).duplicated().to_numpy()
    users, items = users[keep], items[keep]
    if oversample > 1 and len(users) > target:
        chosen = np.sort(rng.choice(len(users), size=target, replace=False))
        users, items = users[chosen], items[chosen]
    taste = rng.integers(0, len(GENRES), size=(n_users + 1, 2))
    likes = (item_genre[items] == taste[users, 0]) | (item_genre[items] == taste[users, 1])
    score = 3.0 + 1.2 * likes + rng.normal(0, 0.9, size=len(users))
    if half_stars:
        ratings = (np.clip(np.round(score * 2) / 2, 0.5, 5.0)).astype(np.float32)
    else:
        ratings = np.clip(np.round(score), 1, 5).astype(np.float32)
    start = rng.integers(1_000_000_000, 1_600_000_000, size=n_users + 1)
    timestamps = start[users] + rng.integers(0, 50_000_000, size=len(users))
    return {"user": users, "item": items + 1, "rating": ratings, "timestamp": timestamps.astype(np.int64)}


def write_movielens_csv(folder: Path, *, n_users: int, n_items: int, n_ratings: int, n_tags: int = 0,
                        seed: int = 0, oversample: float = 1.0) -> Path:
    """ml-32m layout: ratings.csv, movies.csv, tags.csv, links.csv (CSV with header, UTF-8)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    movies = movie_table(n_items, rng)
    ratings = rating_arrays(n_users, n_items, n_ratings, rng, movies["_genre"].to_numpy(), oversample=oversample)
    table = pa.table({"userId": ratings["user"], "movieId": ratings["item"],
                      "rating": pa.array(ratings["rating"]).cast(pa.float64()), "timestamp": ratings["timestamp"]})
    _write_ratings_csv(table, folder / "ratings.csv")
    movies[["movieId", "title", "genres"]].to_csv(folder / "movies.csv", index=False)
    movies[["movieId"]].assign(imdbId=[f"{100000 + i:07d}" for i in movies["movieId"]],
                               tmdbId=movies["movieId"] + 5000).to_csv(folder / "links.csv", index=False)
    if n_tags:
        pick = rng.integers(0, len(ratings["user"]), size=n_tags)
        focus = rng.integers(1, max(2, n_items // 10), size=n_tags)  # many tags on a few items, as in real data
        tag_items = np.where(rng.random(n_tags) < 0.6, focus, ratings["item"][pick])
        tags = pd.DataFrame({"userId": ratings["user"][pick], "movieId": tag_items,
                             "tag": [_TAGS[i] for i in rng.integers(0, len(_TAGS), size=n_tags)],
                             "timestamp": ratings["timestamp"][pick] + 60})
        tags.to_csv(folder / "tags.csv", index=False)
    return folder


def _write_ratings_csv(table: pa.Table, path: Path) -> None:
    """MovieLens writes ratings with one decimal (``4.0``), no quotes."""
    rating_text = pa.array([f"{r:.1f}" for r in (0.5 * np.arange(11))])  # 0.0 … 5.0
    codes = np.rint(table.column("rating").to_numpy() * 2).astype(np.int64)
    table = table.set_column(2, "rating", rating_text.take(pa.array(codes)))
    with open(path, "wb") as fh:
        fh.write(b"userId,movieId,rating,timestamp\n")
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def write_movielens_1m(folder: Path, *, n_users: int, n_items: int, n_ratings: int, seed: int = 0) -> Path:
    """ml-1m layout: ratings.dat, users.dat, movies.dat, ``::``-separated, ISO-8859-1."""
    from ..sources.movielens_1m import AGE_GROUPS, OCCUPATIONS

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    movies = movie_table(n_items, rng)
    ratings = rating_arrays(n_users, n_items, n_ratings, rng, movies["_genre"].to_numpy(), half_stars=False)
    with open(folder / "ratings.dat", "w", encoding="latin-1", newline="\n") as fh:
        for u, i, r, t in zip(ratings["user"], ratings["item"], ratings["rating"], ratings["timestamp"]):
            fh.write(f"{u}::{i}::{int(r)}::{t}\n")
    with open(folder / "movies.dat", "w", encoding="latin-1", newline="\n") as fh:
        for m, title, genres in zip(movies["movieId"], movies["title"], movies["genres"]):
            fh.write(f"{m}::{title}::{genres}\n")
    ages = list(AGE_GROUPS)
    with open(folder / "users.dat", "w", encoding="latin-1", newline="\n") as fh:
        for u in range(1, n_users + 1):
            gender = "MF"[int(rng.integers(0, 2))]
            fh.write(f"{u}::{gender}::{ages[int(rng.integers(0, len(ages)))]}::"
                     f"{int(rng.integers(0, len(OCCUPATIONS)))}::{int(rng.integers(10000, 99999))}\n")
    return folder
