"""Synthetic raw files in the Last.fm 1K and 360K layouts (Òscar Celma's dumps), written by us.

TAB-separated, UTF-8, no quoting. Users' countries, genders and ages tilt which invented
artists they play most, so attribute prediction has signal. Some artists have no MusicBrainz
id (an empty field), and a few profile fields are empty, as in the real files. Nothing is
copied from Last.fm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

COUNTRIES = ["United States", "United Kingdom", "Germany", "Brazil", "Japan", "Poland", "Sweden", "Finland"]
_A = ["Velvet", "Neon", "Silver", "Broken", "Electric", "Midnight", "Paper", "Crystal", "Iron", "Lunar"]
_B = ["Wolves", "Harbor", "Echoes", "Parade", "Machines", "Gardens", "Saints", "Tides", "Comets", "Ghosts"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _mbid(rng: np.random.Generator) -> str:
    h = "".join("0123456789abcdef"[i] for i in rng.integers(0, 16, size=32))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _artists(n: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    return [(_mbid(rng) if i % 4 else "", f"{_A[i % len(_A)]} {_B[(i // len(_A)) % len(_B)]}") for i in range(n)]


def _profiles(n_users: int, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    out = []
    for u in range(n_users):
        gender = "" if u % 9 == 4 else "mf"[u % 2]
        age = "" if u % 7 == 3 else str(18 + (u * 5) % 40)
        country = "" if u % 11 == 5 else COUNTRIES[u % len(COUNTRIES)]
        out.append((gender, age, country))
    return out


def _favourites(u: int, n_artists: int, rng: np.random.Generator, k: int) -> np.ndarray:
    """Artists a user plays: a block tied to their country and gender, plus random ones."""
    base = (u % len(COUNTRIES)) * 3 + (u % 2) * 17
    own = (base + np.arange(k // 2)) % n_artists
    return np.concatenate([own, rng.integers(0, n_artists, size=k - k // 2)])


def write_lastfm_1k(folder: Path, *, n_users: int, n_artists: int, n_events: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    artists = _artists(n_artists, rng)
    profiles = _profiles(n_users, rng)
    with open(folder / "userid-profile.tsv", "w", encoding="utf-8", newline="\n") as fh:
        fh.write("#id\tgender\tage\tcountry\tregistered\n")
        fh.writelines(
            f"user_{u:06d}\t{gender}\t{age}\t{country}\t{_MONTHS[u % 12]} {1 + u % 28}, {2004 + u % 5}\n"
            for u, (gender, age, country) in enumerate(profiles, start=1)
        )
    per_user = n_events // n_users
    with open(folder / "userid-timestamp-artid-artname-traid-traname.tsv", "w", encoding="utf-8", newline="\n") as fh:
        for u in range(1, n_users + 1):
            picks = _favourites(u, n_artists, rng, 12)[rng.integers(0, 12, size=per_user)]
            times = np.sort(rng.integers(1_140_000_000, 1_241_000_000, size=per_user))[::-1]  # newest first, as the dump
            for a, t in zip(picks, times):
                mbid, name = artists[a]
                when = np.datetime_as_string(np.datetime64(int(t), "s")) + "Z"
                track = int(rng.integers(1, 6))
                fh.write(f"user_{u:06d}\t{when}\t{mbid}\t{name}\t\tSong {track}\n")
    return folder


def write_lastfm_360k(folder: Path, *, n_users: int, n_artists: int, per_user: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    artists = _artists(n_artists, rng)
    users = ["".join("0123456789abcdef"[i] for i in rng.integers(0, 16, size=40)) for _ in range(n_users)]
    profiles = _profiles(n_users, rng)
    with open(folder / "usersha1-profile.tsv", "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(
            f"{sha}\t{gender}\t{age}\t{country}\t{_MONTHS[u % 12]} {1 + u % 28}, {2005 + u % 5}\n"
            for u, (sha, (gender, age, country)) in enumerate(zip(users, profiles))
        )
    with open(folder / "usersha1-artmbid-artname-plays.tsv", "w", encoding="utf-8", newline="\n") as fh:
        for u, sha in enumerate(users):
            picks = list(dict.fromkeys(_favourites(u, n_artists, rng, per_user).tolist()))
            plays = np.sort(rng.integers(5, 3000, size=len(picks)))[::-1]  # most played first, as the dump
            for a, p in zip(picks, plays):
                mbid, name = artists[a]
                fh.write(f"{sha}\t{mbid}\t{name}\t{p}\n")
    return folder
