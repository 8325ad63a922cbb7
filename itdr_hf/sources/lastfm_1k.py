"""Last.fm 1K users (Òscar Celma, 2010): full listening histories with user profiles.

Homepage: http://ocelma.net/MusicRecommendationDataset/lastfm-1K.html — archive
``http://mtg.upf.edu/static/datasets/last.fm/lastfm-dataset-1K.tar.gz`` (folder
``lastfm-dataset-1K``). 19,150,868 listening events of 992 users until 5 May 2009.

Files (TAB-separated, UTF-8, no quoting): ``userid-timestamp-artid-artname-traid-traname.tsv``
(``user_000639``, ``2009-04-08T01:57:47Z``, artist MBID — empty for 39 % of artists —, artist
name, track MBID, track name; newest first per user) and ``userid-profile.tsv`` (a ``#id``
header line, then ``userid, gender ('m'|'f'|empty), age (int|empty), country (str|empty),
registered``). The dump has a few malformed lines; they are counted, not fatal.

What the reader keeps: one interaction per (user, artist) — artists keyed by *name*, since
so many lack an MBID — with ``weight`` = number of plays and ``timestamp`` = the first play,
so a history is the order in which the user found artists. There is no rating scale. User
attributes for UAP: country, gender (``male``/``female``) and age (numeric; ages outside
5–100 are treated as unknown, the profiles contain placeholders such as 0 or 200).

Terms: "distributed with permission of Last.fm … made available for non-commercial use";
cite Celma (2010), Music Recommendation and Discovery, Springer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ..config import BuildConfig
from ..readers.budget import BadLines
from ..readers.delimited import read_tsv_strings
from ..tables import CATEGORICAL, NUMERIC, AttributeSpec, SourceTables
from .base import RemoteArchive, Source, register_source

CELMA = """@book{celma2010music,
  title={Music Recommendation and Discovery: The Long Tail, Long Fail, and Long Play in the Digital Music Space},
  author={Celma, {\\`O}scar}, publisher={Springer}, year={2010}, doi={10.1007/978-3-642-13287-2}
}"""
LICENSE = "Last.fm data distributed by Òscar Celma for non-commercial use only"
EVENTS = "userid-timestamp-artid-artname-traid-traname.tsv"
PROFILES_1K = "userid-profile.tsv"
AGE_RANGE = (5, 100)
GENDERS = {"m": "male", "f": "female"}
ATTRIBUTES = (
    AttributeSpec("country", "country", CATEGORICAL),
    AttributeSpec("gender", "gender", CATEGORICAL),
    AttributeSpec("age", "age", NUMERIC),
)


def read_profiles(path: Path, config: BuildConfig, fix: str) -> tuple[pd.DataFrame, BadLines]:
    """Both dumps' profile files: user, gender, age, country, signup date (ignored)."""
    bad = BadLines(path, config.max_bad_line_fraction, fix)
    tsv = read_tsv_strings(path, ["user", "gender", "age", "country", "signup"], bad, comment="#")
    frame = tsv.table.select(["user", "gender", "age", "country"]).to_pandas()
    gender = frame["gender"].str.strip().str.lower()
    unknown = ~gender.isin([*GENDERS, ""])
    tsv.reject(np.flatnonzero(unknown.to_numpy()), bad, "gender {value!r} is not m, f or empty", "gender")
    age = pd.to_numeric(frame["age"].str.strip(), errors="coerce")
    not_number = age.isna() & (frame["age"].str.strip() != "")
    tsv.reject(np.flatnonzero(not_number.to_numpy()), bad, "age {value!r} is not a whole number", "age")
    bad.finish()
    age = age.where(age.between(*AGE_RANGE))
    country = frame["country"].str.strip()
    users = pd.DataFrame(
        {
            "country": country.where(country != "", None).astype(object),
            "gender": gender.map(GENDERS).astype(object),
            "age": age.astype("float64"),
        }
    )
    users.index = pd.Index(frame["user"].str.strip(), name="user")
    keep = ~(unknown | not_number).to_numpy()
    return users[keep][~users.index[keep].duplicated()], bad


def artist_items(names: pd.Series) -> pd.DataFrame:
    unique = pd.Index(names.unique()).sort_values()
    return pd.DataFrame({"title": unique.astype(str)}, index=pd.Index(unique, name="item"))


@register_source
class LastFM1K(Source):
    name = "lastfm_1k"
    title = "Last.fm 1K users"
    homepage = "http://ocelma.net/MusicRecommendationDataset/lastfm-1K.html"
    license = LICENSE
    citation = CELMA
    required_files = (EVENTS, PROFILES_1K)
    folder_names = ("lastfm-dataset-1K",)
    remote = RemoteArchive(url="http://mtg.upf.edu/static/datasets/last.fm/lastfm-dataset-1K.tar.gz")
    demo_folder = "lastfm-1k"
    fix = "download lastfm-dataset-1K.tar.gz from http://ocelma.net/MusicRecommendationDataset/lastfm-1K.html and unpack it"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        users, profile_bad = read_profiles(root / PROFILES_1K, config, self.fix)
        events_bad = BadLines(root / EVENTS, config.max_bad_line_fraction, self.fix)
        tsv = read_tsv_strings(root / EVENTS, ["user", "time", "artist_id", "artist", "track_id", "track"], events_bad)
        table = tsv.table
        times = pc.strptime(table.column("time"), format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
        artist = pc.utf8_trim_whitespace(table.column("artist"))
        bad_time = np.flatnonzero(times.is_null().to_numpy(zero_copy_only=False))
        tsv.reject(bad_time, events_bad, "not a time like 2009-04-08T01:57:47Z: {value!r}", "time")
        no_artist = np.flatnonzero(pc.equal(artist, "").to_numpy(zero_copy_only=False))
        tsv.reject(no_artist, events_bad, "empty artist name{value:.0}", "artist")
        events_bad.finish()
        events = pd.DataFrame(
            {
                "user": table.column("user").to_pandas(),
                "item": artist.to_pandas(),
                "timestamp": times.cast("int64").to_pandas(),
            }
        )
        events = events.drop(index=np.union1d(bad_time, no_artist))
        interactions = (
            events.groupby(["user", "item"], sort=True, observed=True)["timestamp"]
            .agg(timestamp="min", weight="size")
            .reset_index()
        )
        interactions["timestamp"] = interactions["timestamp"].astype(np.int64)
        interactions["weight"] = interactions["weight"].astype(np.float32)
        interactions.insert(2, "rating", np.float32(np.nan))
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=artist_items(interactions["item"]),
            users=users,
            user_attributes=ATTRIBUTES,
            item_noun="artist",
            skipped_lines=(profile_bad.summary(), events_bad.summary()),
        )
