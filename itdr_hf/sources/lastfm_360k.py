"""Last.fm 360K users (Òscar Celma, 2010): artist play counts with user profiles.

Homepage: http://ocelma.net/MusicRecommendationDataset/lastfm-360K.html — archive
``http://mtg.upf.edu/static/datasets/last.fm/lastfm-dataset-360K.tar.gz`` (folder
``lastfm-dataset-360K``). 17,559,530 (user, artist, plays) rows of 359,347 users, 2008.

Files (TAB-separated, UTF-8, no quoting, no header): ``usersha1-artmbid-artname-plays.tsv``
(``user-mboxsha1, musicbrainz-artist-id`` — may be empty —, ``artist-name, plays``) and
``usersha1-profile.tsv`` (``user-mboxsha1, gender ('m'|'f'|empty), age (int|empty),
country (str|empty), signup`` such as ``Feb 1, 2009``).

What the reader keeps: one interaction per (user, artist name) — rows of the same name under
different MBIDs are summed — with ``weight`` = plays. The dump has **no timestamps**
(``timestamp`` is -1) and no rating scale, so within each user the rows are ordered by plays,
fewest first: "the user's latest rows" then means their most-played artists, which is what
UAP should show (the paper: items the user likes most). User attributes as for Last.fm 1K
(country, gender, age; ages outside 5–100 unknown).

Terms: non-commercial use, as Last.fm 1K; cite Celma (2010).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ..config import BuildConfig
from ..readers.budget import BadLines
from ..readers.delimited import read_tsv_strings
from ..tables import SourceTables
from .base import RemoteArchive, Source, register_source
from .lastfm_1k import ATTRIBUTES, CELMA, LICENSE, artist_items, read_profiles

PLAYS = "usersha1-artmbid-artname-plays.tsv"
PROFILES_360K = "usersha1-profile.tsv"


@register_source
class LastFM360K(Source):
    name = "lastfm_360k"
    title = "Last.fm 360K users"
    homepage = "http://ocelma.net/MusicRecommendationDataset/lastfm-360K.html"
    license = LICENSE
    citation = CELMA
    required_files = (PLAYS, PROFILES_360K)
    folder_names = ("lastfm-dataset-360K",)
    remote = RemoteArchive(url="http://mtg.upf.edu/static/datasets/last.fm/lastfm-dataset-360K.tar.gz")
    demo_folder = "lastfm-360k"
    fix = "download lastfm-dataset-360K.tar.gz from http://ocelma.net/MusicRecommendationDataset/lastfm-360K.html and unpack it"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        users, profile_bad = read_profiles(root / PROFILES_360K, config, self.fix)
        bad = BadLines(root / PLAYS, config.max_bad_line_fraction, self.fix)
        tsv = read_tsv_strings(root / PLAYS, ["user", "artist_id", "artist", "plays"], bad)
        table = tsv.table
        artist = pc.utf8_trim_whitespace(table.column("artist"))
        plays = pd.to_numeric(table.column("plays").to_pandas().str.strip(), errors="coerce")
        bad_plays = np.flatnonzero((plays.isna() | (plays < 0)).to_numpy())
        tsv.reject(bad_plays, bad, "plays {value!r} is not a count", "plays")
        no_artist = np.flatnonzero(pc.equal(artist, "").to_numpy(zero_copy_only=False))
        tsv.reject(no_artist, bad, "empty artist name{value:.0}", "artist")
        bad.finish()
        rows = pd.DataFrame({"user": table.column("user").to_pandas(), "item": artist.to_pandas(), "weight": plays})
        rows = rows.drop(index=np.union1d(bad_plays, no_artist))
        interactions = rows.groupby(["user", "item"], sort=False, observed=True)["weight"].sum().reset_index()
        interactions = interactions.sort_values(["user", "weight", "item"], kind="stable", ignore_index=True)
        interactions["weight"] = interactions["weight"].astype(np.float32)
        interactions.insert(2, "rating", np.float32(np.nan))
        interactions.insert(3, "timestamp", np.int64(-1))
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=artist_items(interactions["item"]),
            users=users,
            user_attributes=ATTRIBUTES,
            item_noun="artist",
            has_timestamps=False,
            skipped_lines=(profile_bad.summary(), bad.summary()),
        )
