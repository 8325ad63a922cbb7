"""Benchmark: the whole Amazon Reviews 2023 build at the paper's size: 12 categories, 124.5M reviews, 7.92M items.

The size sweep (``amazon_2023.py``) stops at 10 GB of two categories and extrapolates; this writes
synthetic files in the real raw layout with each of the paper's 12 categories' real numbers of
users, items and reviews (``REAL``, from the statistics table of amazon-reviews-2023.github.io)
and runs the default build on them (``itdr-build --sources amazon_2023``: every category, the
paper's four cross-domain pairs, every Amazon cell), measuring the peak memory of the build's
process tree (summed PSS, polled every 0.2 s) and its time against ``gzip -dc`` over the same files.

What the files assume (none of it measured on the real files):

- meta: ``amazon_2023_items.py``'s files, titles of ``--title-chars`` characters on average;
- users: ``--users`` distinct ids over all categories; a category's users are a random subset
  of them, so partner categories share users as real ones do; each user's number of reviews in a
  category is ``1 + floor(s * Pareto(--activity-shape))``, ``s`` set so the mean is the real
  reviews/users of that category. Memory follows the share of reviews by users with at least the
  early filter's minimum (5 titled reviews in a category): printed as ``kept``. With the default
  shape 1.5 it is about half (the synthetic sweep keeps a quarter): a conservative guess;
- review lines: shorter texts than real ones (~170 characters), so the floor is smaller and the
  time ratio is not the real one; rows, ids and items are the real counts, and memory follows them.

    python benchmarks/amazon_2023_paper.py [--workdir /tmp/itdr-bench] [--users 40000000] [--title-chars 100]

Needs ~12 GB of disk for the files (cached in ``--workdir``), ~3.5 GB under ``TMPDIR`` while the
largest category is read, and ~12 minutes to write them on 2 cores; the build took 20-25 minutes here.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from amazon_2023 import REAL, MemoryPoll, gunzip_all  # noqa: E402
from amazon_2023_items import generate as generate_meta  # noqa: E402

MINIMUM = 5  # the early filter's default minimum (itdr_hf.sources.amazon_2023.early_filter_minimum)
CHUNK = 400_000  # reviews per gzip member, written by one worker
_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)
_PHRASES = [
    "works as described", "great value for the price", "arrived quickly", "would buy again", "not what I expected",
    "the quality is fine", "easy to set up", "my kids love it", "stopped working after a month", "fits perfectly",
    "a bit smaller than pictured", "sturdy and well made", "returned it", "exactly what I needed", "five stars",
    "the color is off", "good enough for daily use", "instructions were unclear", "highly recommend", "cheaply made",
]


def user_ids(global_index: np.ndarray) -> list[str]:
    """28-character ids of Amazon 2023's shape, a hash of the user's number (no table of every id needed)."""
    x = global_index.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    digits = np.empty((len(x), 27), dtype=np.uint8)
    for half in range(2):
        h = x ^ (x >> np.uint64(31)) if half == 0 else (x * np.uint64(0xBF58476D1CE4E5B9)) ^ (x >> np.uint64(27))
        for k in range(13 + half):
            digits[:, half * 13 + k] = _ALPHABET[((h >> np.uint64((5, 4)[half] * k)) & np.uint64(31)).astype(np.intp)]
    body = np.ascontiguousarray(digits).view("S27").ravel()
    return ["A" + b.decode() for b in body.tolist()]


def _lines(args: tuple) -> bytes:
    category, users, items, ratings, stamps, seed = args
    rng = np.random.default_rng(seed)
    ids = user_ids(users)
    prefix = f"B0{category[:2].upper()}"  # amazon_2023_items.py's parent_asin
    n_phrases = rng.integers(6, 14, size=len(items)).tolist()
    picks = rng.integers(0, len(_PHRASES), size=len(items) * 14).tolist()
    votes = (rng.integers(1, 40, size=len(items)) * (rng.random(len(items)) < 0.15)).tolist()
    out = []
    for k, (user, item, rating, stamp) in enumerate(zip(ids, items.tolist(), ratings.tolist(), stamps.tolist())):
        asin = f"{prefix}{item:06X}"
        text = ", ".join(_PHRASES[p] for p in picks[k * 14:k * 14 + n_phrases[k]]).capitalize() + "."
        out.append(
            f'{{"rating": {rating}.0, "title": "{_PHRASES[picks[k * 14]].capitalize()}", "text": "{text}", '
            f'"images": [], "asin": "{asin}", "parent_asin": "{asin}", "user_id": "{user}", "timestamp": {stamp}, '
            f'"helpful_vote": {votes[k]}, "verified_purchase": {"true" if k % 4 else "false"}}}'
        )
    return gzip.compress(("\n".join(out) + "\n").encode(), compresslevel=1, mtime=0)


def _counts(rng: np.random.Generator, n_users: int, n_reviews: int, shape: float) -> np.ndarray:
    """Reviews per user: 1 + floor(s * Pareto(shape)), ``s`` bisected so the total is about ``n_reviews``."""
    tail = rng.pareto(shape, size=n_users)
    lo, hi = 0.0, 100.0
    for _ in range(40):
        s = (lo + hi) / 2
        if (np.floor(tail * s).sum() + n_users) < n_reviews:
            lo = s
        else:
            hi = s
    return np.minimum(1 + np.floor(tail * s), 5000).astype(np.int64)


def write_category(folder: Path, category: str, n_users: int, n_items: int, n_reviews: int, pool_size: int,
                   shape: float, pool: ProcessPoolExecutor) -> dict:
    path = folder / f"{category}.jsonl.gz"
    stats = folder / f"{category}.stats.json"
    if path.is_file() and stats.is_file():
        return json.loads(stats.read_text())
    rng = np.random.default_rng([7, n_users, n_items, n_reviews])
    members = rng.choice(pool_size, size=min(n_users, pool_size), replace=False)
    counts = _counts(rng, len(members), n_reviews, shape)
    who = np.repeat(np.arange(len(members), dtype=np.int32), counts)
    rng.shuffle(who)
    who = who[:n_reviews]
    final = np.bincount(who, minlength=len(members))
    popularity = rng.pareto(1.1, size=n_items) + 1
    cdf = np.cumsum(popularity / popularity.sum())
    items = np.minimum(np.searchsorted(cdf, rng.random(len(who))), n_items - 1).astype(np.int32)
    start = rng.integers(1_300_000_000_000, 1_650_000_000_000, size=len(members))
    stamps = start[who] + rng.integers(0, 40_000_000_000, size=len(who))
    ratings = np.clip(np.rint(rng.normal(4.1, 1.1, size=len(who))), 1, 5).astype(np.int8)
    jobs = (
        (category, members[who[s:s + CHUNK]], items[s:s + CHUNK], ratings[s:s + CHUNK], stamps[s:s + CHUNK], [7, s])
        for s in range(0, len(who), CHUNK)
    )
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        for member in pool.map(_lines, jobs):
            fh.write(member)
    tmp.rename(path)
    out = {"users": int((final > 0).sum()), "items": n_items, "reviews": int(len(who)),
           "kept": int(final[final >= MINIMUM].sum()), "kept_users": int((final >= MINIMUM).sum())}
    stats.write_text(json.dumps(out))
    return out


def generate(workdir: Path, pool_size: int, title_chars: int, shape: float, scale: float = 1.0) -> tuple[Path, dict]:
    scaled = "" if scale == 1 else f"-x{scale:g}"
    folder = workdir / f"amazon-2023-paper-t{title_chars}-u{pool_size // 1_000_000}M-a{shape:g}{scaled}"
    folder.mkdir(parents=True, exist_ok=True)
    meta_folder, _, _ = generate_meta(workdir, scale, title_chars)
    for category in REAL:
        link = folder / f"meta_{category}.jsonl.gz"
        if not link.exists():
            os.link(meta_folder / link.name, link)
    started, stats = time.perf_counter(), {}
    with ProcessPoolExecutor(max_workers=2) as pool:
        for category, sizes in sorted(REAL.items(), key=lambda kv: -kv[1][2]):
            # amazon_2023_items.py's item count at this scale, so that the reviews' ids are the meta's
            n_users, n_items, n_reviews = (max(int(n * scale), 10) for n in sizes)
            stats[category] = write_category(folder, category, n_users, n_items, n_reviews, int(pool_size * scale),
                                             shape, pool)
            print(f"  {category}: {stats[category]} ({time.perf_counter() - started:.0f} s)", flush=True)
    return folder, stats


def run_build(folder: Path, workdir: Path, timeline: Path, keep: bool = False) -> dict:
    output = workdir / "itdr-amazon-paper-out"
    log = open(workdir / "amazon-2023-paper-build.log", "w")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "itdr_hf", "--sources", "amazon_2023", "--data-dir", str(folder), "--output", str(output)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "TQDM_DISABLE": "1"},
    )
    poll = MemoryPoll(proc.pid, interval=0.2)
    marks = []

    def sample() -> None:  # the peak so far every 10 s: where in the build it was reached
        while proc.poll() is None:
            marks.append((round(time.perf_counter() - started), round(poll.peak_pss_kb / 1024**2, 3)))
            time.sleep(10)

    threading.Thread(target=sample, daemon=True).start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    poll.stop()
    log.close()
    timeline.write_text("\n".join(f"{t}\t{gb}" for t, gb in marks) + "\n")
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"the build failed ({code}): see {log.name}")
    if not keep:
        shutil.rmtree(output, ignore_errors=True)
    return {"build": elapsed, "pss": poll.peak_pss_kb / 1024**2, "hwm": max(poll.peak_hwm_kb, usage.ru_maxrss) / 1024**2,
            "cpu": usage.ru_utime + usage.ru_stime}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/itdr-bench"))
    parser.add_argument("--users", type=int, default=40_000_000, help="distinct users over all 12 categories")
    parser.add_argument("--title-chars", type=int, default=100, help="mean meta title length (an assumption)")
    parser.add_argument("--activity-shape", type=float, default=1.5, help="Pareto shape of reviews per user")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="share of every real count (users, items, reviews): a quicker look at the same shape")
    parser.add_argument("--floor", type=float, help="seconds of gzip -dc over these files, measured by an earlier run "
                        "(its CPU seconds taken equal): skips measuring it again (~5 minutes)")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--keep-output", action="store_true",
                        help="keep the build (WORKDIR/itdr-amazon-paper-out) to inspect or hash it")
    args = parser.parse_args()

    folder, stats = generate(args.workdir, args.users, args.title_chars, args.activity_shape, args.scale)
    reviews = sum(s["reviews"] for s in stats.values())
    kept = sum(s["kept"] for s in stats.values())
    print(f"{folder}: {reviews:,} reviews, {sum(s['items'] for s in stats.values()):,} items, "
          f"{sum(s['users'] for s in stats.values()):,} users summed over categories; "
          f"{kept:,} reviews ({kept / reviews:.0%}) by users with >= {MINIMUM} in a category", flush=True)
    if args.generate_only:
        return
    files = sorted(folder.glob("*.jsonl.gz"))
    floor, floor_cpu = (args.floor, args.floor) if args.floor else gunzip_all(files)
    print(f"floor: gzip -dc over {sum(f.stat().st_size for f in files) / 1e9:.1f} GB gz: {floor:.0f} s"
          + (" (given)" if args.floor else ""), flush=True)
    r = run_build(folder, args.workdir, args.workdir / "amazon-2023-paper-timeline.tsv", keep=args.keep_output)
    print(f"build: {r['build']:.0f} s = {r['build'] / floor:.2f}x floor (CPU {r['cpu']:.0f} s = "
          f"{r['cpu'] / floor_cpu:.2f}x gzip's {floor_cpu:.0f} s); peak {r['pss']:.2f} GB PSS (largest process "
          f"{r['hwm']:.2f} GB); target <= 4 GB; load {os.getloadavg()[0]:.2f}; peak over time in "
          f"{args.workdir / 'amazon-2023-paper-timeline.tsv'}")


if __name__ == "__main__":
    main()
