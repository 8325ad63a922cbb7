"""Benchmark: the Amazon Reviews 2023 read, our streaming reader against DuckDB, on the same files.

Issue 15 asks whether a well-kept engine bounds the read's memory with less of our own code.
Both sides do the same work on each category of the synthetic sweep of ``amazon_2023.py``
(generated and cached in ``--workdir``):

- **ours**: ``Amazon2023().read`` with the default early filter (the reader the build runs);
- **duckdb**: the same reviews read by DuckDB (``read_json`` on the ``.jsonl.gz`` files), a
  user's repeated reviews of an item counted once (earliest), the users with fewer than m
  titled items in the category dropped (m = ``early_filter_minimum``, 5 by default; titled as our
  index counts: the first meta row's title after ``clean``), each item's count over every
  user kept; the kept rows, the item counts and the meta columns our items table reads are
  fetched as Arrow tables and held to the end, as our reader holds its tables. Run under
  DuckDB's ``memory_limit`` (``--duckdb-limits``), spilling to ``--workdir``.

The kept rows must agree (same count and the same (user, item) pairs: checked, the run stops
otherwise). Each side runs in its own child process (one process each: DuckDB runs threads);
peak = the child's peak RSS (``VmHWM``) when the read is done, before that check; read = wall
seconds of the read without the imports; floor = ``gzip -dc`` of every file. For the engines,
"Arrow tables held" is the size of what they hand back (meta columns, item counts, kept rows as
strings): their peak less that is the engine's own working memory.
- **polars** (``--polars``): the same query as a lazy Polars plan run by its streaming engine
  (one ``collect_all`` for the item counts and the kept rows); Polars has no memory limit.

DuckDB and Polars are not dependencies of itdr: ``pip install duckdb polars`` to run this.

    python benchmarks/amazon_2023_engines.py --sizes 1,3,10 [--duckdb-limits 1GB,512MB] [--polars] [--workdir /tmp/itdr-bench]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).parent))
from amazon_2023 import CATEGORIES, generate, gunzip_all  # noqa: E402


def read_ours(root: Path) -> dict:
    from itdr_hf.config import BuildConfig
    from itdr_hf.sources.amazon_2023 import Amazon2023

    tables = Amazon2023().read(root, BuildConfig(amazon_categories=",".join(CATEGORIES)))
    peak, done = peak_rss_gb(), time.perf_counter()
    rows = tables.interactions
    users, items = (pa.array(rows[c].array).dictionary_decode() for c in ("user", "item"))
    return {"peak": peak, "done": done, "kept": len(rows), "items": len(tables.items), "pairs": pairs_digest(users, items)}


def peak_rss_gb() -> float:
    """This process's peak RSS so far (``VmHWM``): taken when the read is done, before the check below."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024**2


def pairs_digest(users, items) -> str:
    """SHA-256 of the sorted ``user|item`` strings: the same kept rows, whatever their order."""
    joined = pc.binary_join_element_wise(users.cast(pa.string()), items.cast(pa.string()), "|")
    digest = hashlib.sha256()
    for value in joined.take(pc.sort_indices(joined)).to_pylist():
        digest.update(value.encode() + b"\n")
    return digest.hexdigest()


def titled_items(meta: pa.Table) -> pa.Table:
    """The items whose first meta row has a title after cleaning: the reader's own rule."""
    from types import SimpleNamespace

    from itdr_hf.readers.spill import ArrayRun
    from itdr_hf.sources.amazon_2023 import _titled_items

    with ArrayRun(pa.string(), 0) as titles:
        titles.add(meta.column("title"))
        return pa.table({"parent_asin": _titled_items([SimpleNamespace(table=meta)], titles)})


def engine_result(held: list[pa.Table]) -> dict:
    """What an engine's tables (meta, item counts, kept rows per category) say, peak taken first."""
    peak, done = peak_rss_gb(), time.perf_counter()
    kept = pa.concat_tables(held[2::3])
    n_items = len(pc.unique(pa.concat_tables(held[1::3]).column("parent_asin")))
    return {"peak": peak, "done": done, "kept": kept.num_rows, "items": n_items, "held": sum(t.nbytes for t in held) / 1024**3,
            "pairs": pairs_digest(kept.column("user_id").combine_chunks(), kept.column("parent_asin").combine_chunks())}


def read_duckdb(root: Path, limit: str, spill: Path) -> dict:
    import duckdb

    from itdr_hf.config import BuildConfig
    from itdr_hf.sources.amazon_2023 import early_filter_minimum

    minimum = early_filter_minimum(BuildConfig(amazon_categories=",".join(CATEGORIES)))
    con = duckdb.connect()
    con.execute(f"SET memory_limit='{limit}'; SET threads={os.cpu_count()}; SET temp_directory='{spill}'")
    held = []
    for category in CATEGORIES:
        con.execute("SET preserve_insertion_order=true")  # the first meta row of an item decides its title
        meta = con.sql(
            f"SELECT parent_asin, title, main_category, categories, store, details FROM read_json("
            f"'{root}/meta_{category}.jsonl.gz', format='newline_delimited', columns={{'parent_asin': 'VARCHAR', "
            "'title': 'VARCHAR', 'main_category': 'VARCHAR', 'categories': 'VARCHAR[]', 'store': 'VARCHAR', "
            "'details': 'STRUCT(Brand VARCHAR, Manufacturer VARCHAR)'})"
        ).to_arrow_table()
        titled = titled_items(meta)  # noqa: F841 - read by the query below
        con.execute("SET preserve_insertion_order=false")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE firsts AS SELECT user_id, parent_asin, arg_min(rating, timestamp) AS rating, "
            f"min(timestamp) AS timestamp FROM read_json('{root}/{category}.jsonl.gz', format='newline_delimited', "
            "columns={'user_id': 'VARCHAR', 'parent_asin': 'VARCHAR', 'rating': 'FLOAT', 'timestamp': 'BIGINT'}) "
            "GROUP BY user_id, parent_asin"
        )
        items = con.sql("SELECT parent_asin, count(*) AS n FROM firsts GROUP BY parent_asin").to_arrow_table()
        kept = con.sql(
            "SELECT f.* FROM firsts f SEMI JOIN (SELECT user_id FROM firsts SEMI JOIN titled USING (parent_asin) "
            f"GROUP BY user_id HAVING count(*) >= {minimum}) q USING (user_id)"
        ).to_arrow_table()
        con.execute("DROP TABLE firsts")
        held += [meta, items, kept]
    return engine_result(held)


def read_polars(root: Path) -> dict:
    import polars as pl

    from itdr_hf.config import BuildConfig
    from itdr_hf.sources.amazon_2023 import early_filter_minimum

    minimum = early_filter_minimum(BuildConfig(amazon_categories=",".join(CATEGORIES)))
    meta_schema = {"parent_asin": pl.String, "title": pl.String, "main_category": pl.String,
                   "categories": pl.List(pl.String), "store": pl.String,
                   "details": pl.Struct({"Brand": pl.String, "Manufacturer": pl.String})}
    review_schema = {"user_id": pl.String, "parent_asin": pl.String, "rating": pl.Float32, "timestamp": pl.Int64}
    held = []
    for category in CATEGORIES:
        meta = pl.read_ndjson(root / f"meta_{category}.jsonl.gz", schema=meta_schema).to_arrow()
        titled = pl.from_arrow(titled_items(meta)).lazy()
        firsts = (
            pl.scan_ndjson(root / f"{category}.jsonl.gz", schema=review_schema)
            .group_by("user_id", "parent_asin")
            .agg(pl.col("rating").sort_by("timestamp").first(), pl.col("timestamp").min())
        )
        items = firsts.group_by("parent_asin").len()
        qualified = firsts.join(titled, on="parent_asin", how="semi").group_by("user_id").len()
        kept = firsts.join(qualified.filter(pl.col("len") >= minimum), on="user_id", how="semi")
        items, kept = pl.collect_all([items, kept], engine="streaming")
        held += [meta, items.to_arrow(), kept.to_arrow()]
    return engine_result(held)


def child(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    if args.child == "ours":
        out = read_ours(args.root)
    elif args.child == "polars":
        out = read_polars(args.root)
    else:
        out = read_duckdb(args.root, args.limit, args.spill)
    out["seconds"] = out.pop("done") - started  # the read alone: without the imports and the check
    args.result.write_text(json.dumps(out))


def run(command: list[str], result: Path) -> dict:
    """The child's result; ``cpu`` covers the whole child (imports and the check included)."""
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "TQDM_DISABLE": "1"})
    if proc.returncode != 0:  # e.g. DuckDB's out-of-memory error under too low a limit: a result too
        lines = [x for x in proc.stderr.splitlines() if "Error" in x or "Exception" in x] or ["?"]
        return {"failed": lines[-1].strip()[:160]}
    out = json.loads(result.read_text())
    result.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3", help="comma-separated GB of uncompressed input (both categories)")
    parser.add_argument("--duckdb-limits", default="1GB,512MB", help="DuckDB memory_limit values to run")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/itdr-bench"))
    parser.add_argument("--processes", type=int, default=2, help="processes generating the synthetic files")
    parser.add_argument("--polars", action="store_true", help="also run Polars (streaming engine, no memory limit)")
    parser.add_argument("--child", choices=["ours", "duckdb", "polars"], help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", help=argparse.SUPPRESS)
    parser.add_argument("--spill", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    print("| raw GB | engine | read | x floor | peak RSS | Arrow tables held | kept rows | items |")
    print("|---|---|---|---|---|---|---|---|")
    for size in (float(s) for s in args.sizes.split(",")):
        raw = generate(args.workdir, size, args.processes)
        files = sorted(raw.glob("*.jsonl.gz"))
        floors = [gunzip_all(files)[0]]
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            runs = []
            engines = [("ours", None), *(("duckdb", x) for x in args.duckdb_limits.split(","))]
            for engine, limit in engines + ([("polars", None)] if args.polars else []):
                result = Path(tmp) / "result.json"
                command = [sys.executable, __file__, "--child", engine, "--root", str(raw), "--result", str(result)]
                if limit:
                    command += ["--limit", limit, "--spill", str(Path(tmp) / "spill")]
                runs.append((f"{engine} {limit}" if limit else engine, run(command, result)))
        floors.append(gunzip_all(files)[0])
        floor = sum(floors) / len(floors)
        ours = runs[0][1]
        for name, r in runs:
            if "failed" in r:
                print(f"| {size:g} | {name} | failed: {r['failed']} |  |  |  |  |  |", flush=True)
                continue
            if (r["kept"], r["pairs"], r["items"]) != (ours["kept"], ours["pairs"], ours["items"]):
                raise SystemExit(f"{name} kept {r['kept']:,} rows of {r['items']:,} items, ours {ours['kept']:,} "
                                 f"of {ours['items']:,}: not the same read")
            held = f"{r['held']:.2f} GB" if "held" in r else ""
            print(f"| {size:g} | {name} | {r['seconds']:.2f} s | {r['seconds'] / floor:.2f}x | {r['peak']:.2f} GB | "
                  f"{held} | {r['kept']:,} | {r['items']:,} |", flush=True)
        print(f"|  | floor (gzip -dc) | {floor:.2f} s |  |  |  |  | load {os.getloadavg()[0]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
