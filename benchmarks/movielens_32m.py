"""Benchmark: the full MovieLens build at MovieLens 32M scale, against the CSV-read floor.

Generates a synthetic ml-32m folder in the real raw format (32M ratings, ~87K movies, ~200K
users, 2M tags; cached between runs), then measures:

- floor: a bare ``pyarrow.csv.read_csv`` of ratings.csv (what any reader must pay), best of 3;
- build: ``itdr-build --sources movielens_32m`` end to end (read, all MovieLens cells, all
  configs, Parquet, card), in a child process, with its peak RSS.

Targets on a 2-core machine (issue 2): build ≤ 5× floor, peak RSS ≤ 6 GB.

    python benchmarks/movielens_32m.py [--ratings 32000000] [--workdir /tmp/itdr-bench]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.csv as pacsv

from itdr_hf.synthetic.movielens import write_movielens_csv


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=32_000_204)
    parser.add_argument("--users", type=int, default=200_948)
    parser.add_argument("--movies", type=int, default=87_585)
    parser.add_argument("--tags", type=int, default=2_000_072)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/itdr-bench"))
    parser.add_argument("--profile", type=int, metavar="N", default=0,
                        help="after the timed build, build again under cProfile and print its N costliest "
                             "functions by cumulative and by own time (the main process only; untimed)")
    args = parser.parse_args()

    raw = args.workdir / f"ml-32m-synthetic-v3-{args.ratings}"
    if not (raw / "ratings.csv").is_file():
        started = time.perf_counter()
        write_movielens_csv(raw, n_users=args.users, n_items=args.movies, n_ratings=args.ratings,
                            n_tags=args.tags, seed=1, oversample=2.0)
        print(f"generated {raw} in {time.perf_counter() - started:.1f} s")
    size_mb = (raw / "ratings.csv").stat().st_size / 1e6

    floors, floor_cpus = [], []
    for _ in range(3):  # the floor is the best of three: a conservative (low) denominator
        started, cpu = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
        table = pacsv.read_csv(raw / "ratings.csv")
        floors.append(time.perf_counter() - started)
        floor_cpus.append(_cpu(resource.RUSAGE_SELF) - cpu)
        rows = table.num_rows
        del table
    floor, floor_cpu = min(floors), min(floor_cpus)

    output = args.workdir / "itdr-out"
    command = [sys.executable, "-m", "itdr_hf", "--sources", "movielens_32m", "--data-dir", str(raw),
               "--output", str(output)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started, cpu = time.perf_counter(), _cpu(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "TQDM_DISABLE": "1"})
    build = time.perf_counter() - started
    build_cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak_gb = max(peak_kb, before) / 1024 / 1024

    print(f"{'ratings rows':<28}{rows:>14,}")
    print(f"{'ratings.csv size':<28}{size_mb:>12.0f} MB")
    print(f"{'floor: pyarrow read_csv':<28}{floor:>12.2f} s   (best of {', '.join(f'{f:.2f}' for f in floors)})")
    print(f"{'full build':<28}{build:>12.2f} s")
    print(f"{'build / floor':<28}{build / floor:>12.2f} x   (target <= 5)")
    # on a shared machine wall time swings with other people's load; CPU seconds (all threads and
    # forked workers) swing much less, so their ratio is printed too
    print(f"{'CPU s: floor, build':<28}{floor_cpu:>12.2f} s   {build_cpu:.2f} s = {build_cpu / floor_cpu:.2f} x; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'peak RSS of the build':<28}{peak_gb:>12.2f} GB  (target <= 6)")
    if args.profile:
        _profile(command, args.workdir / "itdr-build.prof", args.profile)


def _profile(command: list[str], path: Path, top: int) -> None:
    """Where the build's time goes: the same command under cProfile, its top functions printed."""
    import pstats

    # one worker: cells are generated in this process, where cProfile sees them
    profiled = [command[0], "-m", "cProfile", "-o", str(path), *command[1:], "--workers", "1"]
    subprocess.run(profiled, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "TQDM_DISABLE": "1"})
    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


if __name__ == "__main__":
    main()
