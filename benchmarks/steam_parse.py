"""Benchmark: parsing UCSD Steam Python-literal lines, ``ast.literal_eval`` against our parsers.

The lines are written the way the UCSD files were (``str()`` of a dict per line) with the
real review fields, review texts of real-looking lengths and mixes (apostrophes, which make
Python switch to double quotes; both quote kinds, which give ``\\'`` escapes; line breaks as
``\\n``; accented letters and emoji; empty texts), and ``u''`` game lines like the games file.
Three line sets: review lines, game lines, and the mix of earlier runs (every 50th a game line).

Parsers, all on the same lines in the same run, records checked identical to literal_eval first:

- ``ast.literal_eval`` (the floor);
- ``loads (str)``: :func:`python_literal.loads` per line, on the line without its ``\\n``;
- ``loads (reader)``: the same as the reader called it before batching: the raw line decoded, ``\\n`` kept;
- ``loads_lines``: the reader's path now, raw lines (``\\n`` kept) :data:`PYTHON_BATCH` at a time,
  its JSON decoded by msgspec; ``loads_lines (json)``: the same with json's scanner, as without msgspec.

Times are CPU seconds of this process (``time.process_time``), best of ``--repeat`` rounds,
the parsers taking turns within each round, so other work on a shared machine moves all of them
alike. Target (issue 15): loads_lines ≥ 5× ast.literal_eval.

``--reader N`` also times the Steam review reader end to end on N review lines written to a
temporary gzipped file: ``iter_numbered`` as ``Steam`` calls it (gunzip, parse, required
fields, ``_review``), against the same loop line by line with ``loads`` (the reader before
batching) and with ``ast.literal_eval``.

    python benchmarks/steam_parse.py [--lines 20000] [--repeat 5] [--reader 50000]
"""

from __future__ import annotations

import argparse
import ast
import gzip
import random
import tempfile
import time
from pathlib import Path

from itdr_hf.readers.budget import BadLines
from itdr_hf.readers.jsonl import PYTHON_BATCH, iter_numbered
from itdr_hf.readers.opening import iter_raw_lines
from itdr_hf.sources import python_literal
from itdr_hf.sources.python_literal import SLOW, loads, loads_lines
from itdr_hf.sources.steam import _review

WORDS = ["game", "fun", "great", "bad", "story", "graphics", "worth", "money", "hours", "played", "friends", "multiplayer", "boring", "recommend", "buy", "sale", "price", "bugs", "crash", "update", "devs", "early", "access", "controls", "music", "level", "boss"]
EXTRAS = ["it's", "don't", "I'd", '"epic"', "café", "naïve", "🙂", "10/10", "\t", "—", "C:\\games"]


def review_line(rng: random.Random) -> str:
    n = rng.choice((0, 3, 12, 40, 90, 200))
    words = [rng.choice(WORDS) if rng.random() > 0.08 else rng.choice(EXTRAS) for _ in range(n)]
    text = " ".join(words)
    if n and rng.random() < 0.3:
        text = text.replace(" boss ", " boss\n\n")
    record = {
        "username": f"player{rng.randrange(10**6)}",
        "hours": round(rng.random() * 500, 1),
        "products": rng.randrange(1, 2000),
        "product_id": str(rng.randrange(10**4, 10**6)),
        "page_order": rng.randrange(10),
        "date": f"20{rng.randrange(10, 18)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        "text": text,
        "early_access": rng.random() < 0.1,
        "page": rng.randrange(1, 100),
    }
    if rng.random() < 0.3:
        record.update(user_id=str(rng.randrange(10**16, 10**17)), found_funny=rng.randrange(1, 9))
    if rng.random() < 0.05:
        record["compensation"] = "Product received for free"
    return str(record)


def game_line(rng: random.Random) -> str:
    record = {
        "publisher": "Studio " + rng.choice(WORDS), "genres": ["Action", "Indie"], "app_name": "Star " + rng.choice(WORDS),
        "release_date": rng.choice(("2017-12-01", "Dec 2017", "Q1 2018")), "tags": ["Open World", "Sandbox"],
        "price": rng.choice((4.99, "Free To Play", None)), "early_access": False, "id": str(rng.randrange(10**5, 10**6)),
        "metascore": rng.choice((70, "NA")),
    }
    return "{" + ", ".join(f"u{k!r}: " + (f"u{v!r}" if isinstance(v, str) else repr(v)) for k, v in record.items()) + "}"


def parsers(lines: list[str]) -> dict:
    """Each parser as a function of no arguments that parses every line once, the way it is called."""
    raws = [line.encode() + b"\n" for line in lines]
    batches = [raws[i:i + PYTHON_BATCH] for i in range(0, len(raws), PYTHON_BATCH)]
    return {
        "ast.literal_eval": lambda: [ast.literal_eval(line) for line in lines],
        "loads (str)": lambda: [loads(line) for line in lines],
        "loads (reader)": lambda: [loads(raw.decode()) for raw in raws],
        "loads_lines": lambda: [value for batch in batches for value in loads_lines(batch)],
        "loads_lines (json)": without_msgspec(lambda: [value for batch in batches for value in loads_lines(batch)]),
    }


def without_msgspec(run):
    def json_decoder():
        saved, python_literal._DECODE_BYTES = python_literal._DECODE_BYTES, None
        try:
            return run()
        finally:
            python_literal._DECODE_BYTES = saved

    return json_decoder


def check(lines: list[str], runs: dict) -> int:
    """Every parser's records equal literal_eval's (types too); the number of lines loads_lines left to loads."""
    expected = [ast.literal_eval(line) for line in lines]
    left = 0
    for name, run in runs.items():
        got = run()
        if name.startswith("loads_lines"):
            left = sum(value is SLOW for value in got)
            got = [loads(line) if value is SLOW else value for line, value in zip(lines, got)]
        wrong = sum(a != b or repr(a) != repr(b) for a, b in zip(got, expected))
        if wrong or len(got) != len(expected):
            raise SystemExit(f"{name}: {wrong} lines parse differently: fix the parser before timing it")
    return left


def rates(runs: dict, n: int, repeat: int) -> dict:
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
    return {name: n / seconds for name, seconds in best.items()}


REQUIRED = ("username", "product_id", "date")


def line_by_line(path: Path, parse) -> list:
    """The reader's loop before batching: each raw line decoded and parsed alone, then checked and converted."""
    out = []
    for number, raw in iter_raw_lines(path):
        if not raw.strip():
            continue
        record = parse(raw.decode("utf-8"))
        if isinstance(record, dict) and all(record.get(f) not in (None, "") for f in REQUIRED):
            out.append((number, _review(record)))
    return out


def reader(n: int, seed: int, repeat: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "steam_reviews.json.gz"
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.writelines(review_line(rng) + "\n" for _ in range(n))
        runs = {
            "literal_eval loop": lambda: line_by_line(path, ast.literal_eval),
            "loads loop (before)": lambda: line_by_line(path, loads),
            "iter_numbered (now)": lambda: list(iter_numbered(path, BadLines(path, 0.0), parse="python",
                                                              required=REQUIRED, convert=_review)),
        }
        results = [run() for run in runs.values()]
        if any(result != results[0] for result in results):
            raise SystemExit("the readers disagree")
        measured = rates(runs, n, repeat)
    floor = measured["literal_eval loop"]
    print(f"Steam review reader, end to end: {n} lines gzipped, identical records: yes")
    for name, rate in measured.items():
        print(f"  {name:19s} {rate:10,.0f} lines/s  {rate / floor:5.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reader", type=int, default=0, metavar="N", help="also time the reader on N review lines")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sets = {
        "reviews": [review_line(rng) for _ in range(args.lines)],
        "games": [game_line(rng) for _ in range(args.lines)],
        "mix (1 in 50 a game)": [review_line(rng) if i % 50 else game_line(rng) for i in range(args.lines)],
    }
    for label, lines in sets.items():
        runs = parsers(lines)
        left = check(lines, runs)
        chars = sum(map(len, lines)) / len(lines)
        measured = rates(runs, len(lines), args.repeat)
        floor = measured["ast.literal_eval"]
        print(f"{label}: {len(lines)} lines (avg {chars:.0f} chars), identical records: yes, left to loads by loads_lines: {left}")
        for name, rate in measured.items():
            print(f"  {name:19s} {rate:10,.0f} lines/s  {rate / floor:5.1f}x")
    if args.reader:
        reader(args.reader, args.seed, min(args.repeat, 2))
    if python_literal._DECODE_BYTES is None:
        print("msgspec is not installed: both loads_lines rows use json's scanner")
    print("target: loads_lines >= 5x ast.literal_eval")


if __name__ == "__main__":
    main()
