"""Benchmark: parsing UCSD Steam Python-literal lines, ``ast.literal_eval`` against our parser.

The lines are written the way the UCSD files were (``str()`` of a dict per line) with the
real review fields, review texts of real-looking lengths and mixes (apostrophes, which make
Python switch to double quotes; both quote kinds, which give ``\\'`` escapes; line breaks as
``\\n``; accented letters and emoji; empty texts), and ``u''`` game lines like the games file.
Both parsers read the same lines in the same run; the records are checked equal first.
Target (issue 15): ≥ 5× ast.literal_eval.

    python benchmarks/steam_parse.py [--lines 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import ast
import random
import time

from itdr_hf.sources.python_literal import loads

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


def rate(parse, lines: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for line in lines:
            parse(line)
        best = min(best, time.perf_counter() - start)
    return len(lines) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    lines = [review_line(rng) if i % 50 else game_line(rng) for i in range(args.lines)]
    mismatched = sum(loads(line) != ast.literal_eval(line) for line in lines)
    if mismatched:
        raise SystemExit(f"{mismatched} lines parse differently: fix the parser before timing it")
    chars = sum(map(len, lines)) / len(lines)
    floor = rate(ast.literal_eval, lines, args.repeat)
    ours = rate(loads, lines, args.repeat)
    print(f"lines: {len(lines)} (avg {chars:.0f} chars), identical records: yes")
    print(f"ast.literal_eval:       {floor:10,.0f} lines/s")
    print(f"python_literal.loads:   {ours:10,.0f} lines/s")
    print(f"ratio: {ours / floor:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
