"""Benchmark: the full Amazon Reviews 2023 build on a multi-GB synthetic category pair, against gzip.

Generates two gzipped categories in the real raw layout (``CDs_and_Vinyl`` and ``Video_Games``,
a cross-domain pair, so every Amazon cell runs; reviews + meta of ``--size-gb`` uncompressed in
all; cached between runs), then measures:

- floor: ``gzip -dc file > /dev/null`` over every file (what any reader of the files must pay);
- read: the source reader alone (one streaming pass), in a child process;
- build: ``itdr-build --sources amazon_2023`` end to end (read, TKR/CDR/NIR/TUI cells with the
  second pass for review texts, all configs, Parquet, card), in a child process.

Prints throughput (MB/s of uncompressed raw input) and the peak RSS of each child.
Targets (issue 3): build ≤ 4× floor, peak RSS ≤ 4 GB whatever the input size.

    python benchmarks/amazon_2023.py [--size-gb 5] [--workdir /tmp/itdr-bench]   # --size-gb 0.2: quick
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

from itdr_hf.synthetic.amazon import write_large

CATEGORIES = ["CDs_and_Vinyl", "Video_Games"]
BYTES_PER_REVIEW = 872  # measured on the generator: ~817 B per review line + ~55 B of meta per review


def run_child(command: list[str]) -> tuple[float, float]:
    """Wall time and peak RSS (GB) of one child; ``wait4`` gives the RSS of that child alone."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, env={**os.environ, "TQDM_DISABLE": "1"})
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:4]} failed with {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_maxrss / 1024 / 1024


def gunzip_all(files: list[Path]) -> float:
    started = time.perf_counter()
    for f in files:
        subprocess.run(f"gzip -dc {f} > /dev/null", shell=True, check=True)
    return time.perf_counter() - started


def uncompressed_size(path: Path) -> tuple[int, int]:
    """Bytes and lines of a gzipped file."""
    size = lines = 0
    with gzip.open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            size += len(block)
            lines += block.count(b"\n")
    return size, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=5.0, help="uncompressed reviews + meta, both categories")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/itdr-bench"))
    parser.add_argument("--processes", type=int, default=2, help="processes generating the synthetic files")
    args = parser.parse_args()

    reviews = int(args.size_gb * 1e9 / BYTES_PER_REVIEW / len(CATEGORIES))
    raw = args.workdir / f"amazon-2023-synthetic-v2-{args.size_gb:g}gb"
    if not (raw / "done").is_file():
        started = time.perf_counter()
        write_large(raw, categories=CATEGORIES, reviews_per_category=reviews, items_per_category=max(reviews // 15, 100),
                    n_users=max(len(CATEGORIES) * reviews // 3, 100), seed=1, processes=args.processes)
        (raw / "done").write_text("")
        print(f"generated {raw} in {time.perf_counter() - started:.1f} s")
    files = sorted(raw.glob("*.jsonl.gz"))
    measured = {f.name: uncompressed_size(f) for f in files}
    size = sum(b for b, _ in measured.values())
    n_reviews = sum(n for name, (_, n) in measured.items() if not name.startswith("meta_"))
    packed = sum(f.stat().st_size for f in files)

    floor_before = gunzip_all(files)

    options = ["--amazon-categories", ",".join(CATEGORIES), "--cdr-pairs", "<->".join(CATEGORIES)]
    read_code = (
        "import sys; from pathlib import Path; from itdr_hf.config import BuildConfig; "
        "from itdr_hf.sources.amazon_2023 import Amazon2023; "
        f"t = Amazon2023().read(Path(sys.argv[1]), BuildConfig(amazon_categories={','.join(CATEGORIES)!r})); "
        "print(len(t.interactions))"
    )
    read, read_rss = run_child([sys.executable, "-c", read_code, str(raw)])
    output = args.workdir / "itdr-amazon-out"
    build, build_rss = run_child([sys.executable, "-m", "itdr_hf", "--sources", "amazon_2023", "--data-dir", str(raw),
                                  "--output", str(output), *options])

    floor_after = gunzip_all(files)
    # other work on the machine slows every step: the floor is taken before and after, and averaged
    floor = (floor_before + floor_after) / 2
    mb = size / 1e6
    print(f"{'load average (1 min)':<30}{os.getloadavg()[0]:>12.2f}     on {os.cpu_count()} CPUs")
    print(f"{'reviews (2 categories)':<30}{n_reviews:>14,}")
    print(f"{'raw input, uncompressed':<30}{mb:>12.0f} MB  ({packed / 1e6:.0f} MB gzipped)")
    print(f"{'floor: gzip -dc > /dev/null':<30}{floor:>12.2f} s   ({mb / floor:.0f} MB/s; "
          f"{floor_before:.2f} s before, {floor_after:.2f} s after)")
    print(f"{'read (one pass)':<30}{read:>12.2f} s   ({mb / read:.0f} MB/s, peak RSS {read_rss:.2f} GB)")
    print(f"{'full build':<30}{build:>12.2f} s   ({mb / build:.0f} MB/s)")
    print(f"{'build / floor':<30}{build / floor:>12.2f} x   (target <= 4)")
    print(f"{'peak RSS of the build':<30}{build_rss:>12.2f} GB  (target <= 4)")


if __name__ == "__main__":
    main()
