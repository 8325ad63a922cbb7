"""Benchmark: the full MovieLens build at MovieLens 32M scale, against the CSV-read floor.

Generates a synthetic ml-32m folder in the real raw format (32M ratings, ~87K movies, ~200K
users, 2M tags; cached between runs), then measures:

- floor: a bare ``pyarrow.csv.read_csv`` of ratings.csv (what any reader must pay), best of 3
  in one process, whose memory is warm by the second read;
- fresh floor: the same read in a new process each time, best of 3, then its columns turned into
  NumPy arrays: the build is a new process too, and a process's first touch of memory costs system
  time a warm one does not pay (on this VM, with transparent huge pages, up to seconds a GiB);
- build: ``itdr-build --sources movielens_32m`` end to end (read, all MovieLens cells, all
  configs, Parquet, card), in a child process, with its peak RSS (its largest process's);
- ``--phases``: after the timed build, one more under ``build_phases.py`` (untimed): each phase's
  wall, user and system seconds, and each cell's.

Targets on a 2-core machine (issue 2): build ≤ 5× floor, peak RSS ≤ 6 GB.

    python benchmarks/movielens_32m.py [--ratings 32000000] [--workdir /tmp/itdr-bench] [--phases]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from itdr_hf.synthetic.movielens import write_movielens_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=32_000_204)
    parser.add_argument("--users", type=int, default=200_948)
    parser.add_argument("--movies", type=int, default=87_585)
    parser.add_argument("--tags", type=int, default=2_000_072)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/itdr-bench"))
    parser.add_argument("--phases", action="store_true",
                        help="after the timed build, build again under build_phases.py and print where its time went")
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

    # Every measurement runs in a child, so this process stays small: Linux counts the RSS a process
    # had before exec in the exec'd program's peak, and a parent that had read ratings.csv itself
    # (2.8 GB of Arrow pages kept) lent every build that peak.
    floors, floor_cpus, rows = _warm_floor(raw / "ratings.csv")
    floor, floor_cpu = min(floors), min(floor_cpus)

    output = args.workdir / "itdr-out"
    command = [sys.executable, "-m", "itdr_hf", "--sources", "movielens_32m", "--data-dir", str(raw),
               "--output", str(output)]
    started = time.perf_counter()
    build_process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env={**os.environ, "TQDM_DISABLE": "1"})
    _, status, usage = os.wait4(build_process.pid, 0)  # this build and the workers it waited for, only
    build = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"the build failed: {' '.join(command)}")
    build_cpu, build_system = usage.ru_utime + usage.ru_stime, usage.ru_stime
    peak_gb = usage.ru_maxrss / 1024 / 1024
    fresh = min((_fresh_floor(raw / "ratings.csv") for _ in range(3)), key=lambda times: times[0])

    print(f"{'ratings rows':<28}{rows:>14,}")
    print(f"{'ratings.csv size':<28}{size_mb:>12.0f} MB")
    print(f"{'floor: pyarrow read_csv':<28}{floor:>12.2f} s   (best of {', '.join(f'{f:.2f}' for f in floors)})")
    print(f"{'fresh floor: read_csv':<28}{fresh[0]:>12.2f} s   (a new process, best of 3; "
          f"{fresh[1]:.2f} s system; then to NumPy {fresh[2]:.2f} s, {fresh[3]:.2f} s system)")
    print(f"{'full build':<28}{build:>12.2f} s   ({build_system:.2f} s system, all processes)")
    print(f"{'build / floor':<28}{build / floor:>12.2f} x   (target <= 5)")
    print(f"{'build / fresh floor':<28}{build / fresh[0]:>12.2f} x   "
          f"(read and to NumPy, fresh: {build / (fresh[0] + fresh[2]):.2f} x)")
    # on a shared machine wall time swings with other people's load; CPU seconds (all threads and
    # forked workers) swing much less, so their ratio is printed too
    print(f"{'CPU s: floor, build':<28}{floor_cpu:>12.2f} s   {build_cpu:.2f} s = {build_cpu / floor_cpu:.2f} x; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'peak RSS of the build':<28}{peak_gb:>12.2f} GB  (the largest of its processes; target <= 6)")
    if args.phases:
        phases = [sys.executable, str(Path(__file__).with_name("build_phases.py")), *command[3:]]
        done = subprocess.run(phases, check=True, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
        print("\nwhere a build's time goes (build_phases.py, untimed):")
        print("\n".join(line for line in done.stderr.splitlines() if line.startswith("  cell ")))
        print(done.stdout[done.stdout.index("\nphase"):].rstrip())
    if args.profile:
        _profile(command, args.workdir / "itdr-build.prof", args.profile)


_WARM_READS = """
import resource, sys, time
import pyarrow.csv as pacsv
for _ in range(3):
    usage, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    table = pacsv.read_csv(sys.argv[1])
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    print(wall, cpu, table.num_rows, flush=True)
    del table
"""


def _warm_floor(ratings: Path) -> tuple[list[float], list[float], int]:
    """Three bare reads in one process (the later ones on warm memory): wall and CPU seconds, rows."""
    done = subprocess.run([sys.executable, "-c", _WARM_READS, str(ratings)], check=True, capture_output=True, text=True)
    reads = [line.split() for line in done.stdout.splitlines()]
    return [float(r[0]) for r in reads], [float(r[1]) for r in reads], int(reads[0][2])


_FRESH_READ = """
import resource, sys, time
import pyarrow as pa, pyarrow.csv as pacsv
def clock():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_stime
types = {"userId": pa.int32(), "movieId": pa.int32(), "rating": pa.float32(), "timestamp": pa.int64()}
options = pacsv.ReadOptions(column_names=list(types), skip_rows=1, block_size=1 << 24)  # as the reader reads
start = clock()
table = pacsv.read_csv(sys.argv[1], options, convert_options=pacsv.ConvertOptions(column_types=types))
read = clock()
columns = [column.to_numpy() for column in table.columns]
done = clock()
print(read[0] - start[0], read[1] - start[1], done[0] - read[0], done[1] - read[1])
"""


def _fresh_floor(ratings: Path) -> tuple[float, ...]:
    """read_csv in a new process (wall, system), then its columns to NumPy (wall, system); imports untimed."""
    done = subprocess.run([sys.executable, "-c", _FRESH_READ, str(ratings)], check=True, capture_output=True, text=True)
    return tuple(float(x) for x in done.stdout.split())


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
