"""MIND, the Microsoft News Dataset (Wu et al., ACL 2020): news clicks of MSN users.

Homepage: https://msnews.github.io/ — MIND-small (50 K users) and MIND-large (1 M users), each
as ``*_train.zip`` and ``*_dev.zip`` (large also ``*_test.zip``, without click labels). The
builder downloads ``MINDsmall_train.zip`` from Microsoft's Recommenders mirror
(``https://recodatasets.z20.web.core.windows.net/newsrec/``); point ``--data-dir`` at an
unzipped ``MINDlarge_train`` (or any split folder with both files) to use another.

Files (TAB-separated, UTF-8, no header, no quoting): ``behaviors.tsv`` — impression id, user
id, time ``11/11/2019 9:05:58 AM``, click history (space-separated news ids, oldest first,
possibly empty), impressions (``N1-1 N2-0``: shown news with 1 = clicked) — and ``news.tsv`` —
news id, category, subcategory, title, abstract, URL, title entities, abstract entities.

Interactions are clicks: the history clicks of each user (taken from their earliest
impression line; MIND repeats the same history on every line), then the clicked impressions
with their times. History clicks carry **no time** in MIND: their ``timestamp`` is -1, so
they sort before every timed click and keep their order in the history. A (user, news) pair
clicked twice is kept once, at its first click. Non-clicked impressions are not used.

MIND has no user-written text (no comments or reviews): ``texts`` is empty, and target user
identification shows the item's clickers and what else they read instead of comments (the
generator's fallback for sources without text). Items carry category and subcategory (as
``categories``) and the abstract (``details``).

Terms: Microsoft Research License Terms — non-commercial research use; no redistribution.
Cite Wu et al. (2020).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..config import BuildConfig
from ..errors import DataError
from ..readers.budget import BadLines
from ..readers.delimited import read_tsv_strings
from ..tables import SourceTables
from .base import RemoteArchive, Source, register_source

BEHAVIORS = "behaviors.tsv"
NEWS = "news.tsv"
NEWS_FIELDS = ["news", "category", "subcategory", "title", "abstract", "url", "title_entities", "abstract_entities"]


@register_source
class Mind(Source):
    name = "mind"
    title = "MIND (Microsoft News Dataset)"
    homepage = "https://msnews.github.io/"
    license = "Microsoft Research License Terms: non-commercial research use, no redistribution"
    citation = """@inproceedings{wu2020mind,
  title={{MIND}: A Large-scale Dataset for News Recommendation},
  author={Wu, Fangzhao and Qiao, Ying and Chen, Jiun-Hung and Wu, Chuhan and Qi, Tao and Lian, Jianxun and
          Liu, Danyang and Xie, Xing and Gao, Jianfeng and Wu, Winnie and Zhou, Ming},
  booktitle={ACL}, pages={3597--3606}, year={2020}
}"""
    required_files = (BEHAVIORS, NEWS)
    folder_names = ("MINDsmall_train", "MINDlarge_train", "train")
    remote = RemoteArchive(url="https://recodatasets.z20.web.core.windows.net/newsrec/MINDsmall_train.zip")
    demo_folder = "mind"
    fix = "download MINDsmall_train.zip (or MINDlarge_train.zip) from https://msnews.github.io/ and unzip it"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        items, news_bad = self._read_news(root / NEWS, config)
        interactions, behaviors_bad = self._read_behaviors(root / BEHAVIORS, config)
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=items,
            item_noun="news article",
            skipped_lines=(news_bad.summary(), behaviors_bad.summary()),
        )

    def _read_news(self, path: Path, config: BuildConfig) -> tuple[pd.DataFrame, BadLines]:
        bad = BadLines(path, config.max_bad_line_fraction, self.fix)
        tsv = read_tsv_strings(path, NEWS_FIELDS, bad)
        frame = tsv.table.select(["news", "category", "subcategory", "title", "abstract"]).to_pandas()
        frame = frame.apply(lambda column: column.str.strip())
        no_title = np.flatnonzero((frame["title"] == "").to_numpy())
        tsv.reject(no_title, bad, "empty title{value:.0}", "title")
        bad.finish()
        frame = frame.drop(index=no_title).drop_duplicates("news")
        categories = [[c for c in pair if c] for pair in zip(frame["category"], frame["subcategory"])]
        details = [{"abstract": a} if a else {} for a in frame["abstract"]]
        return pd.DataFrame(
            {"title": frame["title"].to_numpy(), "categories": categories, "details": details},
            index=pd.Index(frame["news"].to_numpy(), name="item"),
        ), bad

    def _read_behaviors(self, path: Path, config: BuildConfig) -> tuple[pd.DataFrame, BadLines]:
        bad = BadLines(path, config.max_bad_line_fraction, self.fix)
        tsv = read_tsv_strings(path, ["impression", "user", "time", "history", "impressions"], bad)
        table = tsv.table
        times = pc.strptime(table.column("time"), format="%m/%d/%Y %I:%M:%S %p", unit="s", error_is_null=True)
        bad_time = np.flatnonzero(times.is_null().to_numpy(zero_copy_only=False))
        tsv.reject(bad_time, bad, "not a time like 11/11/2019 9:05:58 AM: {value!r}", "time")
        keep = np.setdiff1d(np.arange(table.num_rows), bad_time)
        table = table.take(pa.array(keep)).append_column("ts", times.take(pa.array(keep)).cast(pa.int64()))
        clicks, bad_impressions = _clicked(table)
        tsv.reject(keep[bad_impressions], bad, "impressions must look like 'N1-1 N2-0': {value!r}", "impressions")
        bad.finish()
        history = _histories(table)
        clicks = clicks.sort_values("timestamp", kind="stable")
        interactions = pd.concat([history, clicks], ignore_index=True)
        interactions = interactions.drop_duplicates(["user", "item"], keep="first", ignore_index=True)
        if interactions.empty:
            raise DataError(path, "no clicks in any impression or history", fix=self.fix)
        interactions.insert(2, "rating", np.float32(np.nan))
        return interactions[["user", "item", "rating", "timestamp"]], bad


def _histories(table: pa.Table) -> pd.DataFrame:
    """Each user's history from their earliest impression line; -1 as time, history order kept."""
    frame = pd.DataFrame({"user": table.column("user").to_pandas(), "ts": table.column("ts").to_pandas(),
                          "history": table.column("history").to_pandas()})
    first = frame.sort_values(["user", "ts"], kind="stable").drop_duplicates("user")
    first = first.sort_index()
    lists = pc.split_pattern(pc.utf8_trim_whitespace(pa.array(first["history"], pa.string())), " ")
    flat = pc.list_flatten(lists)
    owners = pc.list_parent_indices(lists)
    users = pa.array(first["user"], pa.string()).take(owners)
    out = pd.DataFrame({"user": users.to_pandas(), "item": flat.to_pandas()})
    out = out[out["item"] != ""]
    out["timestamp"] = np.int64(-1)
    return out


def _clicked(table: pa.Table) -> tuple[pd.DataFrame, np.ndarray]:
    """Clicked impressions (label 1) with the impression time, and the rows whose impressions do not parse."""
    lists = pc.split_pattern(pc.utf8_trim_whitespace(table.column("impressions")), " ")
    flat = pc.list_flatten(lists)
    owners = pc.list_parent_indices(lists).to_numpy()
    malformed = ~pc.match_substring_regex(flat, r"^[^\s-].*-[01]$").to_numpy(zero_copy_only=False)
    bad_rows = np.unique(owners[malformed])
    ok = ~np.isin(owners, bad_rows)
    clicked = pc.ends_with(flat, "-1").to_numpy(zero_copy_only=False) & ok
    rows = pa.array(owners[clicked])
    items = pc.utf8_slice_codeunits(flat.filter(pa.array(clicked)), 0, -2)
    frame = pd.DataFrame(
        {
            "user": table.column("user").take(rows).to_pandas(),
            "item": items.to_pandas(),
            "timestamp": table.column("ts").take(rows).to_pandas().astype(np.int64),
        }
    )
    return frame, bad_rows
