"""Synthetic raw files in the UCSD Steam layout (Kang & McAuley), written by us.

Both files are gzipped, one Python dict literal per line (``repr``, not JSON: single quotes,
``True``/``False``), as the real ``steam_reviews.json.gz`` and ``steam_games.json.gz`` are.
``user_id`` is present on only some reviews, as in the real file; players of a game's genres
play it longer and write warmer reviews. Nothing is copied from Steam.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

GENRES = ["Action", "Adventure", "Indie", "RPG", "Strategy", "Simulation", "Casual", "Racing", "Sports"]
TAGS = ["Singleplayer", "Multiplayer", "Pixel Graphics", "Open World", "Difficult", "Story Rich", "Co-op",
        "Atmospheric", "Sandbox", "Roguelike"]
_WORDS = ["Star", "Dungeon", "Farm", "Space", "Pixel", "Dragon", "City", "Ghost", "Rally", "Castle", "Robot", "Ocean"]
_SUFFIX = ["Quest", "Tycoon", "Legends", "Simulator", "Arena", "Escape", "Saga", "Rush"]


def _gzip_text(path: Path) -> io.TextIOWrapper:
    """gzip with a zero mtime in its header, so the same seed gives byte-identical files."""
    return io.TextIOWrapper(gzip.GzipFile(path, "wb", mtime=0), encoding="utf-8", newline="\n")


def write_steam(folder: Path, *, n_users: int, n_games: int, n_reviews: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = [str(200000 + 17 * i) for i in range(n_games)]
    genre = rng.integers(0, len(GENRES), size=n_games)
    with _gzip_text(folder / "steam_games.json.gz") as fh:
        for i, app in enumerate(ids):
            name = f"{_WORDS[i % len(_WORDS)]} {_SUFFIX[(i // len(_WORDS)) % len(_SUFFIX)]}"
            record = {
                "publisher": f"Studio {i % 5}", "genres": sorted({GENRES[genre[i]], GENRES[(genre[i] + 2) % len(GENRES)]}),
                "app_name": name, "title": name, "url": f"http://store.steampowered.com/app/{app}/",
                "release_date": f"{2010 + i % 8}-0{1 + i % 9}-15",
                "tags": [TAGS[t] for t in sorted(set(rng.integers(0, len(TAGS), size=3).tolist()))],
                "discount_price": 4.49, "reviews_url": f"http://steamcommunity.com/app/{app}/reviews/",
                "specs": ["Single-player", "Steam Achievements"], "price": 4.99, "early_access": False,
                "id": app, "developer": f"Dev {i % 7}", "sentiment": "Mostly Positive", "metascore": 70 + i % 20,
            }
            if i % 10 == 9:
                del record["app_name"]  # the real file lacks app_name on some games; title is still there
            fh.write(repr(record) + "\n")
    taste = rng.integers(0, len(GENRES), size=n_users)
    with _gzip_text(folder / "steam_reviews.json.gz") as fh:
        seen: set[tuple[int, int]] = set()
        for n in range(n_reviews):
            u, g = int(rng.integers(n_users)), int(rng.integers(n_games))
            if (u, g) in seen:
                continue
            seen.add((u, g))
            fan = taste[u] in (genre[g], (genre[g] + 2) % len(GENRES))
            hours = round(float(rng.gamma(2.0, 40.0 if fan else 4.0)), 1)
            text = ("Loved it, " if fan else "Got bored, ") + ("great co-op." if n % 2 else "nice art but shallow.")
            record = {"username": f"player{u}", "hours": hours, "products": int(rng.integers(1, 300)),
                      "product_id": ids[g], "page_order": n % 10, "date": f"{2014 + n % 5}-{1 + n % 12:02d}-{1 + n % 28:02d}",
                      "text": text if n % 13 else "", "early_access": False, "page": 1 + n // 10}
            if u % 3 == 0:
                record["user_id"] = str(76561198000000000 + u)
            if n % 7 == 0:
                record["found_funny"] = 1
            fh.write(repr(record) + "\n")
    return folder
