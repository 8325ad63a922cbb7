"""Benchmark: the full Amazon Reviews 2023 build over a size sweep, against gzip, with peak memory.

For each size of ``--sizes`` (GB of uncompressed reviews + meta), generates two gzipped
categories in the real raw layout (``CDs_and_Vinyl`` and ``Video_Games``, a cross-domain pair,
so every Amazon cell runs; cached between runs, ``--clean`` deletes them after), then measures:

- floor: ``gzip -dc file > /dev/null`` over every file (what any reader of the files must pay),
  before and after the build, averaged (other work on the machine slows every step);
- read (``--phases``): the source reader alone (one streaming pass), in a child process;
- build: ``itdr-build --sources amazon_2023`` end to end (read, TKR/CDR/NIR/TUI cells with the
  second pass for review texts, all configs, Parquet, card), in a child process.

Memory is polled from ``/proc`` every 0.1 s over the child and every process it forks (the build
may generate cells in forked workers; Amazon cells now run in its own process): the peak of the summed PSS (proportional set size: pages
shared copy-on-write with the parent count once) is the memory the build needs; the largest
single-process RSS (``VmHWM``) is printed too. Then the per-GB and per-review slopes of the peak
(least squares over the sizes) and an extrapolation to the paper's 12 real categories.

Targets (issue 15): build ≤ 4× floor at every size; peak ≤ 4 GB on the 12 real categories.

    python benchmarks/amazon_2023.py --sizes 1,3,10 [--phases] [--clean] [--workdir /tmp/itdr-bench]
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from itdr_hf.synthetic.amazon import write_large

CATEGORIES = ["CDs_and_Vinyl", "Video_Games"]
BYTES_PER_REVIEW = 872  # measured on the generator: ~817 B per review line + ~55 B of meta per review

# The paper's 12 categories: (users, items, reviews), from the statistics table of
# https://amazon-reviews-2023.github.io/ (/work/shared/SOURCES.md records only the 571.54M-review
# total of all 33 categories, not per-category sizes).
# Memory follows rows, not bytes: real review lines are shorter and meta lines longer than ours.
REAL = {
    "All_Beauty": (632_000, 112_600, 701_500),
    "Amazon_Fashion": (2_000_000, 825_900, 2_500_000),
    "Appliances": (1_800_000, 94_300, 2_100_000),
    "Arts_Crafts_and_Sewing": (4_600_000, 801_300, 9_000_000),
    "Baby_Products": (3_400_000, 217_700, 6_000_000),
    "CDs_and_Vinyl": (1_800_000, 701_700, 4_800_000),
    "Grocery_and_Gourmet_Food": (7_000_000, 603_200, 14_300_000),
    "Home_and_Kitchen": (23_200_000, 3_700_000, 67_400_000),
    "Industrial_and_Scientific": (3_400_000, 427_500, 5_200_000),
    "Musical_Instruments": (1_800_000, 213_600, 3_000_000),
    "Software": (2_600_000, 89_200, 4_900_000),
    "Video_Games": (2_800_000, 137_200, 4_600_000),
}


def _tree(root: int) -> list[int]:
    """``root`` and every live descendant, from ``/proc/*/stat`` parent ids."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _kb(path: str, key: str) -> int:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryPoll:
    """Peak summed PSS of a process tree and the largest single VmHWM, polled from /proc."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval = pid, interval
        self.peak_pss_kb = self.peak_hwm_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pss = 0
            for pid in _tree(self.pid):
                pss += _kb(f"/proc/{pid}/smaps_rollup", "Pss:") or _kb(f"/proc/{pid}/status", "VmRSS:")
                self.peak_hwm_kb = max(self.peak_hwm_kb, _kb(f"/proc/{pid}/status", "VmHWM:"))
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_child(command: list[str]) -> tuple[float, float, float, float]:
    """Wall time, peak summed PSS (GB), largest single-process peak RSS (GB) and CPU seconds of one child."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, env={**os.environ, "TQDM_DISABLE": "1"})
    poll = MemoryPoll(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    poll.stop()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:4]} failed with {os.waitstatus_to_exitcode(status)}")
    hwm = max(poll.peak_hwm_kb, usage.ru_maxrss)  # wait4 covers a peak between two polls
    return elapsed, poll.peak_pss_kb / 1024**2, hwm / 1024**2, usage.ru_utime + usage.ru_stime


def gunzip_all(files: list[Path]) -> tuple[float, float]:
    """Wall and CPU seconds of ``gzip -dc`` over the files."""
    started, cpu = time.perf_counter(), _children_cpu()
    for f in files:
        subprocess.run(f"gzip -dc {f} > /dev/null", shell=True, check=True)
    return time.perf_counter() - started, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def uncompressed_size(path: Path) -> tuple[int, int]:
    """Bytes and lines of a gzipped file."""
    size = lines = 0
    with gzip.open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            size += len(block)
            lines += block.count(b"\n")
    return size, lines


def generate(workdir: Path, size_gb: float, processes: int) -> Path:
    reviews = int(size_gb * 1e9 / BYTES_PER_REVIEW / len(CATEGORIES))
    raw = workdir / f"amazon-2023-synthetic-v2-{size_gb:g}gb"
    if not (raw / "done").is_file():
        started = time.perf_counter()
        write_large(raw, categories=CATEGORIES, reviews_per_category=reviews, items_per_category=max(reviews // 15, 100),
                    n_users=max(len(CATEGORIES) * reviews // 3, 100), seed=1, processes=processes)
        (raw / "done").write_text("")
        print(f"generated {raw} in {time.perf_counter() - started:.1f} s", flush=True)
    return raw


def measure(raw: Path, workdir: Path, phases: bool) -> dict:
    files = sorted(raw.glob("*.jsonl.gz"))
    measured = {f.name: uncompressed_size(f) for f in files}
    out = {
        "mb": sum(b for b, _ in measured.values()) / 1e6,
        "gz_mb": sum(f.stat().st_size for f in files) / 1e6,
        "reviews": sum(n for name, (_, n) in measured.items() if not name.startswith("meta_")),
        "items": sum(n for name, (_, n) in measured.items() if name.startswith("meta_")),
    }
    floor_before, cpu_before = gunzip_all(files)
    if phases:
        read_code = (
            "import sys; from pathlib import Path; from itdr_hf.config import BuildConfig; "
            "from itdr_hf.sources.amazon_2023 import Amazon2023; "
            f"t = Amazon2023().read(Path(sys.argv[1]), BuildConfig(amazon_categories={','.join(CATEGORIES)!r})); "
            "print(len(t.interactions))"
        )
        out["read"], out["read_pss"], out["read_hwm"], _ = run_child([sys.executable, "-c", read_code, str(raw)])
    options = ["--amazon-categories", ",".join(CATEGORIES), "--cdr-pairs", "<->".join(CATEGORIES)]
    output = workdir / "itdr-amazon-out"
    out["build"], out["pss"], out["hwm"], out["build_cpu"] = run_child(
        [sys.executable, "-m", "itdr_hf", "--sources", "amazon_2023", "--data-dir", str(raw), "--output", str(output),
         *options]
    )
    shutil.rmtree(output, ignore_errors=True)
    floor_after, cpu_after = gunzip_all(files)
    out["floor"] = (floor_before + floor_after) / 2
    out["floor_cpu"] = (cpu_before + cpu_after) / 2  # CPU seconds swing less with others' load than wall time
    out["floors"] = (floor_before, floor_after)
    return out


def slope(x: list[float], y: list[float]) -> tuple[float, float]:
    """Least-squares intercept and slope."""
    b, a = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
    return float(a), float(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3,10", help="comma-separated GB of uncompressed input (both categories)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/itdr-bench"))
    parser.add_argument("--processes", type=int, default=2, help="processes generating the synthetic files")
    parser.add_argument("--phases", action="store_true", help="also time the reader alone, in its own child")
    parser.add_argument("--clean", action="store_true", help="delete each size's generated files after measuring it")
    args = parser.parse_args()

    rows = []
    for size in (float(s) for s in args.sizes.split(",")):
        raw = generate(args.workdir, size, args.processes)
        result = measure(raw, args.workdir, args.phases)
        result["size"] = size
        rows.append(result)
        if args.clean:
            shutil.rmtree(raw, ignore_errors=True)
        r = result
        print(f"{size:g} GB: {r['reviews']:,} reviews, {r['mb']:.0f} MB raw ({r['gz_mb']:.0f} MB gz); "
              f"floor {r['floor']:.2f} s ({r['floors'][0]:.2f} before, {r['floors'][1]:.2f} after); "
              + (f"read {r['read']:.2f} s, {r['read_pss']:.2f} GB; " if args.phases else "")
              + f"build {r['build']:.2f} s = {r['build'] / r['floor']:.2f}x floor "
              f"(CPU {r['build_cpu']:.1f} s = {r['build_cpu'] / r['floor_cpu']:.2f}x gzip's {r['floor_cpu']:.1f} s); peak {r['pss']:.2f} GB PSS "
              f"(largest process {r['hwm']:.2f} GB); load {os.getloadavg()[0]:.2f}", flush=True)

    print(f"\n{'raw GB':>7}{'reviews':>12}{'floor s':>9}{'build s':>9}{'ratio':>7}{'CPU x':>7}{'peak GB':>9}{'1 proc GB':>10}"
          + (f"{'read s':>8}{'read GB':>9}" if args.phases else ""))
    for r in rows:
        print(f"{r['mb'] / 1e3:>7.2f}{r['reviews']:>12,}{r['floor']:>9.2f}{r['build']:>9.2f}{r['build'] / r['floor']:>7.2f}"
              f"{r['build_cpu'] / r['floor_cpu']:>7.2f}{r['pss']:>9.2f}{r['hwm']:>10.2f}" + (f"{r['read']:>8.2f}{r['read_pss']:>9.2f}" if args.phases else ""))
    print(f"targets: ratio <= 4 at every size; load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print("\nas a markdown table (benchmarks/README.md):\n")
    print("| raw GB | reviews | floor (gzip -dc) | build | ratio | CPU ratio | peak PSS | largest process |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mb'] / 1e3:.2f} | {r['reviews']:,} | {r['floor']:.2f} s | {r['build']:.2f} s | "
              f"{r['build'] / r['floor']:.2f}x | {r['build_cpu'] / r['floor_cpu']:.2f}x | {r['pss']:.2f} GB | {r['hwm']:.2f} GB |")
    if len(rows) < 2:
        return
    a_gb, per_gb = slope([r["mb"] / 1e3 for r in rows], [r["pss"] for r in rows])
    a_rev, per_review = slope([r["reviews"] for r in rows], [r["pss"] * 1024**3 for r in rows])
    print(f"peak memory slope: {per_gb:.3f} GB per GB of raw input (intercept {a_gb:.2f} GB); "
          f"{per_review:.0f} bytes per review (intercept {a_rev / 1024**3:.2f} GB)")
    total = sum(n for _, _, n in REAL.values())
    items = sum(i for _, i, _ in REAL.values())
    print(f"extrapolation to the paper's 12 categories ({total / 1e6:.1f}M reviews, {items / 1e6:.2f}M items; "
          f"ours have 1 item per {rows[-1]['reviews'] / max(rows[-1]['items'], 1):.0f} reviews, the real ones 1 per "
          f"{total / items:.0f}):")
    for name, (_, n_items, n) in REAL.items():
        print(f"  {name:<28}{n / 1e6:>7.1f}M reviews {n_items / 1e6:>6.2f}M items")
    estimate = (a_rev + per_review * total) / 1024**3
    print(f"  estimated peak for all 12 at once: {estimate:.1f} GB (target <= 4); linear in reviews, so an estimate: "
          f"the real ids and item metadata are longer than the synthetic ones")
    # the largest category alone bounds what a category-at-a-time build would need
    largest, (_, _, n_largest) = max(REAL.items(), key=lambda kv: kv[1][2])
    print(f"  {largest} alone ({n_largest / 1e6:.1f}M reviews): {(a_rev + per_review * n_largest) / 1024**3:.1f} GB")
    print(f"  reviews that fit in 4 GB at this slope: {max(0.0, (4 * 1024**3 - a_rev) / per_review) / 1e6:.1f}M")


if __name__ == "__main__":
    main()
