"""PixelRec (Cheng et al., SDM 2024): short-video interactions with item text, Pixel200K subset.

Homepage: https://github.com/westlake-repl/PixelRec — interactions and item information are
two Google-Drive folders (manual download), each holding one CSV per subset with the *same*
file name (``Pixel200K.csv``, ``Pixel1M.csv``, ``Pixel8M.csv``). Put them under one folder as
``interactions/Pixel200K.csv`` and ``item_info/Pixel200K.csv`` (``dataset/`` and
``information/``, the layout the authors' code uses, are accepted too). Pixel200K: about
4 M interactions of 200 K users with 96 K items; to use another subset, copy its two files
under the Pixel200K name.

Files (UTF-8 CSV with header, quoted text may span lines): interactions
``item_id,user_id,timestamp`` (ids like ``i123``/``u45``; Unix seconds — milliseconds are
detected and converted); item information ``item_id, view_number, comment_number,
thumbup_number, share_number, coin_number, favorite_number, barrage_number, title_en, title,
description, tag`` (column order differs between subsets, so columns are found by name; only
``item_id`` and ``title`` are required). The title shown is ``title_en`` where the release has
one, else the Chinese ``title``; ``tag`` becomes the item's category and a short description
its ``details``.

PixelRec has no user-written text (only comment *counts*): ``texts`` is empty, and target
user identification shows the item's viewers and what else they watched instead (the
generator's fallback for sources without text). There are no ratings. ``tag`` is Chinese in
every release.

Terms: research use; the authors prohibit redistributing modified copies. Cite Cheng et al.
(2024).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..config import BuildConfig
from ..errors import DataError
from ..readers.budget import BadLines
from ..readers.delimited import read_csv_table, seconds
from ..readers.opening import require_file
from ..tables import SourceTables
from .base import Source, register_source

SUBSET = "Pixel200K.csv"
LAYOUTS = (("interactions", "item_info"), ("dataset", "information"))
DESCRIPTION_CHARS = 200


@register_source
class PixelRec(Source):
    name = "pixelrec"
    title = "PixelRec (Pixel200K)"
    homepage = "https://github.com/westlake-repl/PixelRec"
    license = "Research use (Westlake University); no redistribution of modified copies"
    citation = """@inproceedings{cheng2024image,
  title={An Image Dataset for Benchmarking Recommender Systems with Raw Pixels},
  author={Cheng, Yu and Pan, Yunzhu and Zhang, Jiaqi and Ni, Yongxin and Sun, Aixin and Yuan, Fajie},
  booktitle={SDM}, pages={418--426}, year={2024}
}"""
    required_files = (f"{LAYOUTS[0][0]}/{SUBSET}", f"{LAYOUTS[0][1]}/{SUBSET}")
    folder_names = ("PixelRec", "pixelrec")
    manual_download = (
        "Download Pixel200K.csv from both the 'Interaction' and the 'Item Information' Google-Drive folders linked at "
        "https://github.com/westlake-repl/PixelRec into interactions/ and item_info/ of one folder, and pass --data-dir."
    )
    demo_folder = "pixelrec"
    fix = "download Pixel200K.csv again from the links at https://github.com/westlake-repl/PixelRec"

    def find_in(self, data_dir: Path) -> Path | None:
        for candidate in self.candidate_dirs(data_dir):
            if any(all((candidate / d / SUBSET).is_file() for d in layout) for layout in LAYOUTS):
                return candidate
        return None

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        inter_dir, info_dir = next(((a, b) for a, b in LAYOUTS if (root / a / SUBSET).is_file()), LAYOUTS[0])
        path = root / inter_dir / SUBSET
        bad = BadLines(path, config.max_bad_line_fraction, self.fix)
        table = read_csv_table(path, {"item_id": pa.string(), "user_id": pa.string(), "timestamp": pa.int64()},
                               fix=self.fix, bad=bad, required=("item_id", "user_id"))
        interactions = pd.DataFrame(
            {
                "user": table.column("user_id").to_pandas(),
                "item": table.column("item_id").to_pandas(),
                "rating": np.float32(np.nan),
                "timestamp": seconds(table.column("timestamp").to_numpy()),
            }
        )
        return SourceTables(
            name=self.name,
            interactions=interactions,
            items=self._read_items(root / info_dir / SUBSET),
            item_noun="video",
            skipped_lines=(bad.summary(),),
        )

    def _read_items(self, path: Path) -> pd.DataFrame:
        require_file(path, self.fix)
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except UnicodeDecodeError as err:
            raise DataError(path, f"not valid utf-8 ({err.reason} at byte {err.start})", fix=self.fix) from None
        except (pd.errors.ParserError, ValueError) as err:
            raise DataError(path, f"cannot parse as CSV: {str(err).splitlines()[0]}", fix=self.fix) from None
        frame.columns = [c.strip() for c in frame.columns]
        missing = [c for c in ("item_id", "title") if c not in frame.columns]
        if missing:
            raise DataError(path, f"header lacks {missing}; found {list(frame.columns)}", line=1, fix=self.fix)
        if frame.empty:
            raise DataError(path, "file has a header but no rows", fix=self.fix)
        english = frame["title_en"].str.strip() if "title_en" in frame.columns else pd.Series("", index=frame.index)
        title = english.where(english != "", frame["title"].str.strip())
        tag = frame["tag"].str.strip() if "tag" in frame.columns else pd.Series("", index=frame.index)
        description = frame["description"] if "description" in frame.columns else pd.Series("", index=frame.index)
        details = [{"description": _short(d)} if _short(d) else {} for d in description]
        items = pd.DataFrame(
            {"title": title.map(lambda t: " ".join(t.split())).to_numpy(),
             "categories": [[t] if t else [] for t in tag], "details": details},
            index=pd.Index(frame["item_id"].str.strip().to_numpy(), name="item"),
        )
        return items[~items.index.duplicated()]


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= DESCRIPTION_CHARS else text[:DESCRIPTION_CHARS].rsplit(" ", 1)[0] + "…"
