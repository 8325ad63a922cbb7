"""MicroLens-100k (Ni et al., 2023): short-video views with English titles and user comments.

Homepage: https://github.com/westlake-repl/MicroLens — files from
https://recsys.westlake.edu.cn/MicroLens-100k-Dataset/ (manual download). 719,405 views of
19,738 videos by 100,000 users.

Files: ``MicroLens-100k_pairs.csv`` (header ``user,item,timestamp``; integer ids; Unix time
in *milliseconds*, converted to seconds here), ``MicroLens-100k_title_en.csv`` (no header,
``item,title``: the release's English titles — the larger MicroLens-1M ships Chinese ones),
``tags_to_summary.csv`` (optional; no header, ``item,category``) and
``MicroLens-100k_comment_en.txt`` (optional; TAB, no header, ``user, item, comment``; the
readme calls it ``…_comments_en.txt``, which is accepted too). Comments may contain TABs:
only the first two separate fields. The comments are the user text target user
identification shows; without the file, it shows the video's viewers instead. A title line
whose id is not an integer is counted as a bad line. There are no ratings.

Terms: released for research by Westlake University's recommender group; the repository
asks that the data not be redistributed in modified form. Cite Ni et al. (2023).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..config import BuildConfig
from ..errors import DataError
from ..readers.budget import BadLines, Degraded
from ..readers.delimited import iter_split_lines, read_csv_table, seconds
from ..readers.opening import iter_raw_lines, require_file
from ..tables import FrameTextStore, SourceTables
from .base import Source, register_source

PAIRS = "MicroLens-100k_pairs.csv"
TITLES = "MicroLens-100k_title_en.csv"
CATEGORIES = "tags_to_summary.csv"
COMMENTS = ("MicroLens-100k_comment_en.txt", "MicroLens-100k_comments_en.txt")


@register_source
class MicroLens(Source):
    name = "microlens"
    title = "MicroLens-100k"
    homepage = "https://github.com/westlake-repl/MicroLens"
    license = "Research use (Westlake University); no redistribution of modified copies"
    citation = """@article{ni2023content,
  title={A Content-Driven Micro-Video Recommendation Dataset at Scale},
  author={Ni, Yongxin and Cheng, Yu and Liu, Xiangyan and Fu, Junchen and Li, Youhua and He, Xiangnan and
          Zhang, Yongfeng and Yuan, Fajie},
  journal={arXiv preprint arXiv:2309.15379}, year={2023}
}"""
    required_files = (PAIRS, TITLES)
    folder_names = ("MicroLens-100k", "MicroLens-100k_Dataset")
    manual_download = "Download the MicroLens-100k files from https://recsys.westlake.edu.cn/MicroLens-100k-Dataset/ and pass --data-dir."
    demo_folder = "microlens"
    fix = "download the MicroLens-100k files again from https://recsys.westlake.edu.cn/MicroLens-100k-Dataset/"

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        pairs_bad = BadLines(root / PAIRS, config.max_bad_line_fraction, self.fix)
        pairs = read_csv_table(root / PAIRS, {"user": pa.int64(), "item": pa.int64(), "timestamp": pa.int64()},
                               fix=self.fix, bad=pairs_bad)
        interactions = pd.DataFrame(
            {
                "user": pairs.column("user").to_numpy(),
                "item": pairs.column("item").to_numpy(),
                "rating": np.float32(np.nan),
                "timestamp": seconds(pairs.column("timestamp").to_numpy()),
            }
        )
        skipped = [pairs_bad.summary()]
        items, bad, untitled = self._read_titles(root / TITLES, config)
        skipped += [bad.summary(), untitled.summary()]
        if (root / CATEGORIES).is_file():
            categories, bad = _read_id_text_csv(root / CATEGORIES, config, self.fix, "category")
            items["categories"] = [[categories[i]] if categories.get(i) else [] for i in items.index]
            skipped.append(bad.summary())
        comments = next((root / name for name in COMMENTS if (root / name).is_file()), None)
        texts = FrameTextStore()
        if comments is not None:
            frame, bad = self._read_comments(comments, config)
            texts = FrameTextStore(frame)
            skipped.append(bad.summary())
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=items,
            texts=texts,
            item_noun="video",
            skipped_lines=tuple(skipped),
        )

    def _read_titles(self, path: Path, config: BuildConfig) -> tuple[pd.DataFrame, BadLines, Degraded]:
        """Videos whose title is empty cannot be named in a prompt: dropped, and counted."""
        titles, bad = _read_id_text_csv(path, config, self.fix, "title")
        untitled = Degraded(path, "empty title: video dropped", seen=len(titles))
        for item in (k for k, v in titles.items() if not v):
            untitled.add(None, f"video {item}")
        titles = {k: v for k, v in titles.items() if v}
        items = pd.DataFrame({"title": list(titles.values())}, index=pd.Index(list(titles), dtype=np.int64, name="item"))
        return items.sort_index(), bad, untitled

    def _read_comments(self, path: Path, config: BuildConfig) -> tuple[pd.DataFrame, BadLines]:
        bad = BadLines(path, config.max_bad_line_fraction, self.fix)
        rows = []
        for number, (user, item, text) in iter_split_lines(path, bad, 3):
            if not (user.strip().isdigit() and item.strip().isdigit()):
                bad.reject(number, f"ids must be integers: {user!r}, {item!r}", "user" if not user.strip().isdigit() else "item")
                continue
            text = " ".join(text.split())
            if text:
                rows.append((int(user), int(item), text))
        bad.finish()
        return pd.DataFrame(rows, columns=["user", "item", "text"]), bad


def _read_id_text_csv(path: Path, config: BuildConfig, fix: str, field: str) -> tuple[dict[int, str], BadLines]:
    """``id,text`` lines without a header; CSV quoting, and unquoted commas in the text kept."""
    require_file(path, fix)
    bad = BadLines(path, config.max_bad_line_fraction, fix)
    out: dict[int, str] = {}
    for number, raw in iter_raw_lines(path):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as err:
            bad.bad(number, f"not valid utf-8 at byte {err.start}")
            continue
        if not line.strip():
            continue
        try:
            row = next(csv.reader([line]))
        except csv.Error as err:
            bad.bad(number, f"does not parse as CSV ({err})")
            continue
        if len(row) < 2 or not row[0].strip().isdigit():
            bad.bad(number, f"expected an integer id and a {field}: {line[:80]!r}", field="item")
            continue
        bad.ok()
        out.setdefault(int(row[0]), " ".join(",".join(row[1:]).split()))
    bad.finish()
    if not out:
        raise DataError(path, f"no readable {field} lines", fix=fix)
    return out, bad
