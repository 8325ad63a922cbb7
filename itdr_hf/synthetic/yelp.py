"""Synthetic raw files in the Yelp Open Dataset's JSON-lines layout, written by us.

Businesses have a few categories; users prefer some categories and give them more stars, so
ratings carry signal. Field names and value styles follow the real files (attribute values
are strings such as ``"True"``, ``"u'free'"`` or a dict literal; ``categories`` is one
comma-separated string; dates are ``YYYY-MM-DD HH:MM:SS``). Nothing is copied from Yelp.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CATEGORIES = ["Restaurants", "Pizza", "Coffee & Tea", "Bars", "Mexican", "Nail Salons", "Auto Repair",
              "Bakeries", "Sushi Bars", "Gyms", "Bookstores", "Thai", "Burgers", "Vegan", "Hotels"]
_FIRST = ["Golden", "Blue", "Corner", "Happy", "Old Town", "Sunny", "Urban", "Maple", "River", "Lucky", "Royal", "Green"]
_LAST = ["Spoon", "Garage", "Cafe", "Studio", "Kitchen", "Taproom", "Market", "Bistro", "Lounge", "House"]
_CITIES = [("Tampa", "FL"), ("Reno", "NV"), ("Tucson", "AZ"), ("Boise", "ID"), ("Nashville", "TN")]
_PRAISE = ["friendly staff", "great value", "cozy place", "quick service", "fresh food", "clean rooms"]
_GRIPES = ["long wait", "rude host", "overpriced", "noisy", "cold food", "dirty tables"]
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def yelp_id(rng: np.random.Generator) -> str:
    return "".join(_ALPHABET[i] for i in rng.integers(0, len(_ALPHABET), size=22))


def write_yelp(folder: Path, *, n_users: int, n_businesses: int, n_reviews: int, seed: int = 0,
               with_users: bool = True) -> Path:
    """``with_users=False`` leaves out the user file, which the reader does not need (smaller demo)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    businesses = [yelp_id(rng) for _ in range(n_businesses)]
    users = [yelp_id(rng) for _ in range(n_users)]
    cats = [sorted({CATEGORIES[c] for c in rng.integers(0, len(CATEGORIES), size=2)}) for _ in businesses]
    with open(folder / "yelp_academic_dataset_business.json", "w", encoding="utf-8", newline="\n") as fh:
        for i, (bid, c) in enumerate(zip(businesses, cats)):
            city, state = _CITIES[i % len(_CITIES)]
            record = {
                "business_id": bid, "name": f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]}",
                "address": f"{100 + i} Main St", "city": city, "state": state, "postal_code": f"{10000 + i}",
                "latitude": 30.0 + i / 1000, "longitude": -90.0 - i / 1000, "stars": 3.5, "review_count": 5,
                "is_open": int(i % 7 != 0),
                "attributes": None if i % 9 == 0 else {
                    "BikeParking": "True", "WiFi": "u'free'" if i % 2 else "'no'", "RestaurantsPriceRange2": str(1 + i % 4),
                    "Ambience": "{'romantic': False, 'casual': True, 'trendy': " + ("True" if i % 3 else "False") + "}",
                },
                "categories": ", ".join(c) if i % 11 else None,
                "hours": {"Monday": "8:0-22:0"},
            }
            fh.write(json.dumps(record) + "\n")
    taste = rng.integers(0, len(CATEGORIES), size=n_users)
    with open(folder / "yelp_academic_dataset_review.json", "w", encoding="utf-8", newline="\n") as fh:
        seen: set[tuple[int, int]] = set()
        for _ in range(n_reviews):
            u, b = int(rng.integers(n_users)), int(rng.integers(n_businesses))
            if (u, b) in seen:
                continue
            seen.add((u, b))
            liked = CATEGORIES[taste[u]] in cats[b]
            stars = float(np.clip(round(3 + 1.5 * liked + rng.normal(0, 1)), 1, 5))
            words = _PRAISE if stars >= 4 else _GRIPES
            text = f"{words[int(rng.integers(len(words)))].capitalize()}, {words[int(rng.integers(len(words)))]}. " \
                   f"Would {'come back' if stars >= 4 else 'not return'}."
            day = np.datetime64("2012-01-01") + int(rng.integers(0, 3650))
            record = {"review_id": yelp_id(rng), "user_id": users[u], "business_id": businesses[b], "stars": stars,
                      "useful": int(rng.integers(0, 5)), "funny": 0, "cool": 0, "text": text,
                      "date": f"{day} {int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:07"}
            fh.write(json.dumps(record) + "\n")
    if not with_users:
        return folder
    with open(folder / "yelp_academic_dataset_user.json", "w", encoding="utf-8", newline="\n") as fh:
        for i, uid in enumerate(users):
            fh.write(json.dumps({"user_id": uid, "name": f"User {i}", "review_count": 3, "yelping_since": "2011-05-01 10:00:00",
                                 "useful": 0, "funny": 0, "cool": 0, "elite": "", "friends": "None", "fans": 0,
                                 "average_stars": 3.8}) + "\n")
    return folder
