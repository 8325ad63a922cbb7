"""Benchmark: the Amazon Reviews 2023 item side at the paper's real item count, with real-length titles.

The size sweep (``amazon_2023.py``) grows reviews and items together with the synthetic
generator's short titles (~27 characters), so it cannot say what the 12 categories' 7.92M items
cost with real product titles. This writes meta files only, in the real layout, with the
paper's per-category item counts (``--scale`` of them) and titles of ``--title-chars``
characters on average (an assumption: real titles are not measured here), brands shared by ~8
items and a few thousand category paths, then runs the reader's meta side on them in a child
process: the meta read, the titled-item set of the early filter, and the items table, each
stage's peak RSS (VmRSS polled every 10 ms) and what stays held.

    python benchmarks/amazon_2023_items.py [--scale 1] [--title-chars 100] [--ref /path/to/older/checkout]

``--ref`` runs the same stages with an older checkout's reader as well (the one before this
benchmark held meta columns as Arrow lists and structs, and titles as one Python string each).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from amazon_2023 import REAL  # noqa: E402

CHILD = r"""
import ctypes, inspect, json, sys, threading, time
from pathlib import Path
import numpy as np, pandas as pd, pyarrow as pa
import itdr_hf.sources.amazon_2023 as A
from itdr_hf.config import BuildConfig

stage, peaks, order = ["imports"], {}, []
def rss():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:")) * 1024
def poll():
    while True:
        r, s = rss(), stage[0]
        if s not in peaks:
            order.append(s)
        peaks[s] = max(peaks.get(s, 0), r)
        time.sleep(0.01)
threading.Thread(target=poll, daemon=True).start()
def trim():
    ctypes.CDLL(None).malloc_trim(0)
    time.sleep(0.05)
    return rss()

root, categories = Path(sys.argv[1]), sys.argv[2].split(",")
config = BuildConfig(amazon_categories=",".join(categories))
out = {"reader": A.__file__}
out["imports"] = trim()
with A.system_memory_pool():
    new = "looks" in inspect.signature(A._read_meta).parameters
    looks = A._Looks() if new else None
    # since the titles wait on disk past amazon_spill_rows (ArrayRun), they are one more argument
    run = A.ArrayRun(pa.string(), config.amazon_spill_rows) if "titles" in inspect.signature(A._read_meta).parameters else None
    extra = [looks] if new else []
    stage[0] = "meta read"
    started = time.perf_counter()
    metas = [A._read_meta(root / f"meta_{c}.jsonl.gz", config, *extra, *([run] if run is not None else [])) for c in categories]
    out["meta_s"] = time.perf_counter() - started
    stage[0] = "meta held"
    out["meta_held"] = trim()
    stage[0] = "titled items"
    started = time.perf_counter()
    titled = A._titled_items(metas, *([run] if run is not None else []))
    out["titled_s"] = time.perf_counter() - started
    stage[0] = "titled held"
    out["titled_held"] = trim()
    stage[0] = "item ids"
    keys = pa.chunked_array([m.table.column("parent_asin") for m in metas], type=pa.string())
    import pyarrow.compute as pc
    distinct = A._distinct(keys) if hasattr(A, "_distinct") else pc.unique(keys)  # as the reader's _unify does
    distinct = distinct.take(pc.sort_indices(distinct))
    del keys
    items = pd.Index(distinct.to_pandas(), dtype="str")
    del distinct
    first = np.zeros(len(items), dtype=np.int16)
    out["items"] = len(items)
    out["titled"] = len(titled)
    stage[0] = "items table"
    started = time.perf_counter()
    table = A._items(items, first, categories, metas, *extra, *([run, config.amazon_spill_rows] if run is not None else []))
    if run is not None:
        run.close()
    out["items_s"] = time.perf_counter() - started
    del metas
    stage[0] = "items held"
    out["items_held"] = trim()
out["peaks"] = {s: peaks[s] for s in order}
print(json.dumps(out))
"""


def _titles(rng: np.random.Generator, n: int, mean: int) -> list[str]:
    words = ["Stainless", "Steel", "Kitchen", "Organizer", "Rack", "with", "Adjustable", "Shelves", "for", "Home",
             "Office", "Pack", "of", "2", "Black", "Large", "Heavy", "Duty", "Cotton", "Set", "Premium", "Non-Stick",
             "Cookware", "Compatible", "Replacement", "Filter", "Bamboo", "Storage", "Basket", "Gift", "Women", "Men"]
    lengths = rng.integers(max(mean // 3, 8), 2 * mean - max(mean // 3, 8) + 1, size=n)
    out = []
    for k, length in enumerate(lengths):
        text = f"{words[k % 32]} {k}"
        while len(text) < length:
            text += " " + words[int(rng.integers(0, 32))]
        out.append(text[:length])
    return out


def _write(args: tuple) -> str:
    folder, category, n, title_chars, seed = args
    path = Path(folder) / f"meta_{category}.jsonl.gz"
    if path.is_file():
        return str(path)
    rng = np.random.default_rng([seed, len(category), n])
    main = category.replace("_", " ")
    n_brands = max(n // 8, 1)
    n_paths = max(min(n // 200, 5000), 1)
    brand = rng.zipf(1.3, size=n) % n_brands
    path_of = rng.zipf(1.2, size=n) % n_paths
    titles = _titles(rng, n, title_chars)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", compresslevel=1) as fh:
        for i in range(n):
            record = {
                "main_category": main, "title": titles[i], "average_rating": 4.2, "rating_number": 12,
                "features": ["A feature line of moderate length for the item."], "description": [],
                "price": None, "images": [], "videos": [], "store": f"Brand{brand[i]:06d}",
                "categories": [main, f"Shelf {path_of[i] % 97}", f"Section {path_of[i]}"] if i % 5 else [],
                "details": {"Brand": f"Brand{brand[i]:06d}", "Manufacturer": f"Maker{brand[i] // 3:06d}"},
                "parent_asin": f"B0{category[:2].upper()}{i:06X}", "bought_together": None,
            }
            fh.write(json.dumps(record) + "\n")
    tmp.rename(path)
    return str(path)


def generate(workdir: Path, scale: float, title_chars: int) -> tuple[Path, list[str], int]:
    folder = workdir / f"amazon-2023-items-x{scale:g}-t{title_chars}"
    folder.mkdir(parents=True, exist_ok=True)
    plan = [(str(folder), c, max(int(n_items * scale), 10), title_chars, 1) for c, (_, n_items, _) in REAL.items()]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=min(os.cpu_count() or 1, 4)) as pool:
        list(pool.map(_write, sorted(plan, key=lambda p: -p[2])))
    print(f"meta files in {folder} ({time.perf_counter() - started:.0f} s)", flush=True)
    return folder, list(REAL), sum(p[2] for p in plan)


def run(pythonpath: str, folder: Path, categories: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": pythonpath, "TQDM_DISABLE": "1"}
    # run from the checkout itself: ``-c`` puts the working directory first on sys.path
    done = subprocess.run([sys.executable, "-c", CHILD, str(folder), ",".join(categories)], env=env, cwd=pythonpath,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the stages failed with {pythonpath}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def show(name: str, r: dict) -> None:
    gb = 1024**3
    n = r["items"]
    print(f"\n{name} ({r['reader']}): {n:,} items, {r['titled']:,} titled")
    print(f"  {'stage':<14}{'peak GB':>9}{'bytes/item over imports':>26}")
    for stage, peak in r["peaks"].items():
        print(f"  {stage:<14}{peak / gb:>9.2f}{(peak - r['imports']) / n:>26.0f}")
    print(f"  held after the meta read {r['meta_held'] / gb:.2f} GB ({(r['meta_held'] - r['imports']) / n:.0f} B/item), "
          f"after the items table {r['items_held'] / gb:.2f} GB ({(r['items_held'] - r['imports']) / n:.0f} B/item); "
          f"meta read {r['meta_s']:.1f} s, titled {r['titled_s']:.1f} s, items table {r['items_s']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the real per-category item counts")
    parser.add_argument("--title-chars", type=int, default=100, help="mean title length (an assumption)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/itdr-bench"))
    parser.add_argument("--ref", help="an older checkout whose reader runs the same stages")
    args = parser.parse_args()
    folder, categories, n = generate(args.workdir, args.scale, args.title_chars)
    here = str(Path(__file__).resolve().parents[1])
    show("this checkout", run(here, folder, categories))
    if args.ref:
        show("--ref", run(args.ref, folder, categories))


if __name__ == "__main__":
    main()
