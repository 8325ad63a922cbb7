"""Synthetic raw files in the layouts of the three Kaggle sources, written by us.

Amazon Books Reviews, Anime Dataset 2023 and Book-Crossing (its Kaggle mirror or the original
BX-CSV-Dump). Every user has two favourite genres and rates items of those genres high and the
rest low, and writes reviews whose words follow the rating, so each subtask these sources feed
has real signal (liked vs disliked genres for interest recognition, tastes for attribute
prediction). Titles, names, texts and demographics are invented; nothing is copied from the
real datasets. Same arguments, same bytes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

GENRES = ["Mystery", "Romance", "Fantasy", "Science Fiction", "History", "Comedy", "Horror", "Adventure"]
_WORDS = ["Silent", "Crimson", "Hidden", "Golden", "Broken", "Midnight", "Distant", "Frozen", "Secret", "Velvet",
          "Harbor", "Garden", "Empire", "River", "Letter", "Station", "Kingdom", "Winter", "Lantern", "Voyage"]
_ROMAJI = ["Hoshi", "Kaze", "Yume", "Sora", "Tsuki", "Hikari", "Mori", "Umi", "Kokoro", "Yoru", "Hana", "Tenshi"]
_PRAISE = {
    "Mystery": "the twists kept me guessing", "Romance": "the love story felt honest and warm",
    "Fantasy": "the magic system is inventive", "Science Fiction": "the ideas about technology are thrilling",
    "History": "the period detail is meticulous", "Comedy": "the humour made me laugh out loud",
    "Horror": "the dread builds beautifully", "Adventure": "the journey is gripping from start to finish",
}
_COMPLAINT = ["the pacing dragged", "the characters felt flat", "the ending was predictable",
              "the dialogue was clumsy", "it was boring and far too long"]
_NAMES = ["Ada", "Bruno", "Chen", "Dara", "Emil", "Fatou", "Goran", "Hana", "Ines", "Jonas", "Kofi", "Lena"]
_PLACES = [
    ("portland", "oregon", "usa"), ("toronto", "ontario", "canada"), ("lyon", "rhône-alpes", "france"),
    ("münchen", "bayern", "germany"), ("madrid", "madrid", "spain"), ("perth", "western australia", "australia"),
]


def _taste(rng: np.random.Generator, n_users: int) -> np.ndarray:
    return np.stack([rng.choice(len(GENRES), size=2, replace=False) for _ in range(n_users)])


def _ratings_for(rng: np.random.Generator, likes: np.ndarray, low: int, high: int) -> np.ndarray:
    """High ratings for favourite genres, low for the rest, a little noise on both."""
    span = high - low
    base = np.where(likes, low + 0.85 * span, low + 0.25 * span) + rng.normal(0, 0.12 * span, size=len(likes))
    return np.clip(np.rint(base), low, high).astype(int)


def _review(rng: np.random.Generator, genre: str, rating: float, scale_max: float) -> tuple[str, str]:
    if rating >= 0.7 * scale_max:
        return "Loved it", f"A wonderful {genre.lower()} read: {_PRAISE[genre]}. I would recommend it to anyone."
    complaint = _COMPLAINT[int(rng.integers(len(_COMPLAINT)))]
    return "Disappointing", f"I wanted to like this {genre.lower()} book, but {complaint}."


# -- Amazon Books Reviews -----------------------------------------------------------------------

def write_amazon_books(folder: Path, *, n_users: int = 60, n_books: int = 160, per_user: int = 13,
                       anonymous: float = 0.15, seed: int = 0) -> Path:
    """``books_data.csv`` + ``Books_rating.csv`` as on Kaggle (pandas-style quoting, UTF-8)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    genre = rng.integers(0, len(GENRES), size=n_books)
    titles = [f"The {_WORDS[i % 20]} {_WORDS[(i // 20 + 10) % 20]}" + (f" {i // 400 + 1}" if i >= 400 else "")
              + (f" of {_WORDS[(i * 7) % 20]}" if (i // 20) % 2 else "") for i in range(n_books)]
    authors = [f"{_NAMES[i % 12]} {_WORDS[(i * 3) % 20]}son" for i in range(n_books)]
    with open(folder / "books_data.csv", "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["Title", "description", "authors", "image", "previewLink", "publisher", "publishedDate",
                      "infoLink", "categories", "ratingsCount"])
        for i, title in enumerate(titles):
            description = f"A {GENRES[genre[i]].lower()} novel.\nSecond edition, revised." if i % 9 == 0 else ""
            out.writerow([title, description, f"['{authors[i]}']", "", "", f"{_WORDS[i % 5]} Press",
                          str(1990 + i % 30) + ("-05-01" if i % 3 == 0 else ""), "", f"['{GENRES[genre[i]]}']",
                          "" if i % 4 else str(i % 50)])
    taste = _taste(rng, n_users)
    rows = []
    for u in range(n_users):
        books = rng.choice(n_books, size=per_user, replace=False)
        likes = np.isin(genre[books], taste[u])
        scores = _ratings_for(rng, likes, 1, 5)
        start = int(rng.integers(1_000_000_000, 1_300_000_000))
        times = np.sort(start + rng.integers(0, 40_000_000, size=per_user))
        for b, s, t in zip(books, scores, times):
            summary, text = _review(rng, GENRES[genre[b]], float(s), 5.0)
            rows.append([f"B{int(b):09d}", titles[b], "", f"A{u + 1:03d}X{seed % 97:02d}QZ", f"{_NAMES[u % 12]} \"{u}\"",
                         f"{int(rng.integers(0, 5))}/{int(rng.integers(5, 9))}", f"{float(s):.1f}", str(int(t)),
                         summary, text])
    for i in rng.choice(len(rows), size=int(anonymous * len(rows)), replace=False):
        rows[i][3] = rows[i][4] = ""
    order = rng.permutation(len(rows))  # the Kaggle file is not sorted by user or time
    with open(folder / "Books_rating.csv", "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["Id", "Title", "Price", "User_id", "profileName", "review/helpfulness", "review/score",
                      "review/time", "review/summary", "review/text"])
        out.writerows(rows[i] for i in order)
    return folder


# -- Anime Dataset 2023 --------------------------------------------------------------------------

ANIME_COLUMNS = [
    "anime_id", "Name", "English name", "Other name", "Score", "Genres", "Synopsis", "Type", "Episodes", "Aired",
    "Premiered", "Status", "Producers", "Licensors", "Studios", "Source", "Duration", "Rating", "Rank", "Popularity",
    "Favorites", "Scored By", "Members", "Image URL",
]
DETAIL_COLUMNS = [
    "Mal ID", "Username", "Gender", "Birthday", "Location", "Joined", "Days Watched", "Mean Score", "Watching",
    "Completed", "On Hold", "Dropped", "Plan to Watch", "Total Entries", "Rewatched", "Episodes Watched",
]


def write_anime_2023(folder: Path, *, n_users: int = 80, n_anime: int = 150, per_user: int = 20, seed: int = 0) -> Path:
    """``anime-dataset-2023.csv``, ``users-score-2023.csv``, ``users-details-2023.csv`` (UTF-8, ``UNKNOWN`` for missing)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    first = rng.integers(0, len(GENRES), size=n_anime)
    second = rng.integers(0, len(GENRES), size=n_anime)
    ids = np.sort(rng.choice(np.arange(1, 60_000), size=n_anime, replace=False))
    names = [f"{_ROMAJI[i % 12]} no {_ROMAJI[(i // 12 + 5) % 12]}" + (f" {i // 144 + 2}" if i >= 144 else "")
             for i in range(n_anime)]
    with open(folder / "anime-dataset-2023.csv", "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(ANIME_COLUMNS)
        for i in range(n_anime):
            genres = sorted({GENRES[first[i]], GENRES[second[i]]}) if i % 17 else ["UNKNOWN"]
            year = 1990 + i % 33
            season = ["spring", "summer", "fall", "winter"][i % 4]
            out.writerow([
                ids[i], names[i], f"{_WORDS[i % 20]} Sky" if i % 3 else "UNKNOWN", "UNKNOWN", f"{6 + (i % 30) / 10:.2f}",
                ", ".join(genres), f"A {GENRES[first[i]].lower()} story.\n\n(Source: synthetic)", ["TV", "Movie", "OVA"][i % 3],
                str(1 + i % 24), f"Apr {1 + i % 28}, {year} to Sep {1 + i % 28}, {year}",
                f"{season} {year}" if i % 5 else "UNKNOWN", "Finished Airing", "UNKNOWN", "UNKNOWN",
                f"Studio {_ROMAJI[i % 7]}", ["Manga", "Original", "Light novel"][i % 3], "24 min per ep",
                "PG-13 - Teens 13 or older", str(i + 1), str(i + 10), str(i * 3), str(1000 + i), str(5000 + i), "",
            ])
    taste = _taste(rng, n_users)
    user_ids = np.sort(rng.choice(np.arange(1, 900_000), size=n_users, replace=False))
    with open(folder / "users-score-2023.csv", "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["user_id", "Username", "anime_id", "Anime Title", "rating"])
        for u, uid in enumerate(user_ids):
            shows = rng.choice(n_anime, size=per_user, replace=False)
            likes = np.isin(first[shows], taste[u]) | np.isin(second[shows], taste[u])
            for a, r in zip(shows, _ratings_for(rng, likes, 1, 10)):
                out.writerow([uid, f"otaku_{uid}", ids[a], names[a], int(r)])
    with open(folder / "users-details-2023.csv", "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(DETAIL_COLUMNS)
        for u, uid in enumerate(user_ids):
            city, _, country = _PLACES[u % len(_PLACES)]
            gender = ["Male", "Female", "Non-Binary", ""][u % 4 if u % 7 else 3]
            birthday = f"{1980 + u % 25}-{1 + u % 12:02d}-{1 + u % 28:02d}T00:00:00+00:00" if u % 6 else ""
            place = [f"{city.title()}, {country.upper()}", country.title(), ""][u % 3]
            out.writerow([uid, f"otaku_{uid}", gender, birthday, place, "2012-03-04T00:00:00+00:00", f"{u * 1.5:.1f}",
                          "7.50", 3, per_user, 0, 1, 4, per_user + 8, 0, 100 + u])
    return folder


# -- Book-Crossing -------------------------------------------------------------------------------

def write_bookcrossing(folder: Path, *, n_users: int = 90, n_books: int = 220, per_user: int = 22,
                       implicit: float = 0.3, layout: str = "kaggle", encoding: str = "latin-1",
                       preprocessed: Path | None = None, seed: int = 0) -> Path:
    """``BX-Users.csv``, ``BX_Books.csv`` (``BX-Books.csv`` with ``layout="original"``), ``BX-Book-Ratings.csv``.

    ``;``-separated, every field quoted except ``NULL`` ages, HTML entities in titles, ISO-8859-1
    unless ``encoding`` says otherwise. ``preprocessed``: a folder to also write Kaggle's
    ``Preprocessed_data.csv`` into (its category per ISBN).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    genre = rng.integers(0, len(GENRES), size=n_books)
    isbns = [f"{int(v):09d}" + "0123456789X"[int(v) % 11] for v in rng.choice(10**9, size=n_books, replace=False)]

    def line(*fields: str) -> str:
        return ";".join(f if f == "NULL" else f'"{f}"' for f in fields) + "\n"

    books = folder / ("BX_Books.csv" if layout == "kaggle" else "BX-Books.csv")
    with open(books, "w", encoding=encoding, newline="") as fh:
        fh.write(line("ISBN", "Book-Title", "Book-Author", "Year-Of-Publication", "Publisher",
                      "Image-URL-S", "Image-URL-M", "Image-URL-L"))
        for i, isbn in enumerate(isbns):
            title = f"{_WORDS[i % 20]} {'&amp;' if i % 11 == 0 else 'and'} {_WORDS[(i // 20 + 3) % 20]}" + (
                f" {i // 400 + 1}" if i >= 400 else "") + (f": A {GENRES[genre[i]]} Tale" if (i // 20) % 2 else "")
            author = f"{_NAMES[i % 12]} {'Müller' if i % 13 == 0 else _WORDS[(i * 3) % 20]}"
            url = f"http://images.example/{isbn}.jpg"
            fh.write(line(isbn, title, author, "0" if i % 23 == 0 else str(1970 + i % 35), f"{_WORDS[i % 6]} Books", url, url, url))
    with open(folder / "BX-Users.csv", "w", encoding=encoding, newline="") as fh:
        fh.write(line("User-ID", "Location", "Age"))
        for u in range(1, n_users + 1):
            city, region, country = _PLACES[u % len(_PLACES)]
            place = f"{city}, {region}, {country}" if u % 5 else f"{city}, n/a, {country}"
            age = "NULL" if u % 4 == 0 else ("0" if u % 19 == 0 else str(15 + (u * 7) % 60))
            fh.write(line(str(u), place, age))
    taste = _taste(rng, n_users + 1)
    with open(folder / "BX-Book-Ratings.csv", "w", encoding=encoding, newline="") as fh:
        fh.write(line("User-ID", "ISBN", "Book-Rating"))
        for u in range(1, n_users + 1):
            picked = rng.choice(n_books, size=per_user, replace=False)
            scores = _ratings_for(rng, np.isin(genre[picked], taste[u]), 1, 10)
            scores[rng.random(per_user) < implicit] = 0
            fh.writelines(line(str(u), isbns[b], str(int(r))) for b, r in zip(picked, scores))
    if preprocessed is not None:
        _write_preprocessed(preprocessed, isbns, genre)
    return folder


def _write_preprocessed(folder: Path, isbns: list[str], genre: np.ndarray) -> None:
    """Kaggle's pre-joined copy, reduced to what the reader takes from it: a category per ISBN."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "Preprocessed_data.csv", "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["", "user_id", "location", "age", "isbn", "rating", "book_title", "book_author",
                      "year_of_publication", "publisher", "img_s", "img_m", "img_l", "Summary", "Language", "Category",
                      "city", "state", "country"])
        for i, isbn in enumerate(isbns):
            category = "9" if i % 10 == 0 else f"['{GENRES[genre[i]]}']"
            out.writerow([i, 1, "x", 30, isbn, 0, "t", "a", 2000, "p", "", "", "", "A summary,\nof two lines", "en",
                          category, "x", "y", "z"])


def write_demos(demo: Path) -> None:
    """The bundled ``--demo`` copies (each well under 150 KB)."""
    write_amazon_books(demo / "amazon_books", seed=11)
    write_anime_2023(demo / "anime_2023", seed=12)
    write_bookcrossing(demo / "bookcrossing", seed=13, preprocessed=demo / "bookcrossing")
