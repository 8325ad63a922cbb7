"""The fast Python-literal parser against ast.literal_eval: identical records, or the same error."""

from __future__ import annotations

import ast
import gzip
import random

import pytest

from itdr_hf.pipeline import demo_dir
from itdr_hf.sources import python_literal
from itdr_hf.sources.python_literal import loads

HAND_WRITTEN = [
    "{'a': 1, 'b': 2.5, 'c': -3, 'd': 1e-05, 'e': 1E5, 'f': True, 'g': False, 'h': None}",
    "{u'publisher': u'Kotoshiro', u'genres': [u'Action', u'Casual'], u'price': 4.99, u'id': u'761140'}",
    "{'text': \"it's great\", 'x': [\"don't\", 'do']}",
    "{'text': 'it\\'s \"great\"', 'y': 'say \"hi\"'}",
    "{'text': 'line one\\nline two\\ttab \\\\ backslash', 'z': '\\\\'}",
    "{'text': 'caf\\xe9 \\x00 nul \\u00e9 \\U0001F642 \\N{BULLET}', 'o': '\\101'}",
    "{'text': '\\ud83d\\ude00 surrogates', 'slash': '\\/ not an escape', 'q': '\\q'}",
    "{'text': 'Café naïve 🙂 — 漢字', 'tab': 'raw\ttab'}",
    "{'nested': {'list': [[1, 2], {'k': [True, None]}], 'empty': {}, 'e2': []}}",
    "{'tuple': (1, 2), 'set': {1, 2}, 'under': 1_000, 'hex': 0x1F, 'dot': 1., 'lead': .5}",
    "{'plus': +5, 'cplx': 5j, 'neg': - 5, 'trailing': [1, 2,], 'bytes': b'x', 'raw': r'\\d'}",
    "{1: 'int key', (1, 2): 'tuple key'}",
    "{'words': 'True False None true null NaN Infinity inside a string'}",
    "{'bare': true}",
    "{'bare': null}",
    "{'bare': NaN}",
    "{'bare': Infinity}",
    "{'concat': 'a' 'b'}",
    "{'big': 123456789012345678901234567890, 'inf': 1e400, 'zero': -0.0, 'z2': 00}",
    "{'a': \"'\", 'b': '\"', 'c': \"\", 'd': '', 'e': \"'quoted'\", 'f': '\"\"'}",
    "{'edge': 'ends with escaped quote\\'', 'start': '\\'starts'}",
    "{'esc_dq': \"a\\\"b\", 'esc_in_sq': 'a\\\"b'}",
    "{'uu': U'upper prefix', 'ud': u\"double u\"}",
    "['not', 'a', 'dict']",
    "{'unterminated': 'abc}",
    "{'a': 1} trailing",
    "{'marker': 'a\x01b', 'm2': 'c\x04d'}",
    "{'ff': 1,\x0c 'g': 2}",
    "  {'leading': 'spaces'}",
    "{'a': 1}\n",
    "{'a': 1}\r\n",
    # the escape prefilter and the \\' → \\u0027 rewrite
    "{'p': 'C:\\\\games\\\\x', 'q': 'a\\\\'}",
    "{'p': 'C:\\\\games', 'r': 'it\\'s \"x\"'}",
    "{'p': 'ends \\\\\\\\', 'r': 'it\\'s \"x\"\\\\'}",
    "{'a': 'x\\\\\\'y \"q\"', 'b': \"it's\"}",
    "{'a': \"it\\'s\", 'b': 'say \"hi\"'}",
    "{'a': \"it's\", 'b': 'say \"hi\"', 'c': [u\"don't\", None]}",
    "{'a': 'bad \\\\\\x41 esc', 'b': '\\u0027 quote'}",
    "{'a': 'raw\nnewline'}",
    "{'a': \"raw\rreturn's\"}",
    "{'a': u\"x\" , 'b': U'y', 'c': True, 'd': u\"It's None\"}",
    "{'a': 'x', 'b': true}",
    "{\"k\": 'v' 'w'}",
    "{'a': 'tab\\tfeed\\fback\\bret\\r', 'n': -1.5e-10, 'm': [-0, 1E+3]}",
]


def _same(line: str) -> None:
    try:
        expected = ast.literal_eval(line)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as err:
        with pytest.raises(type(err)):
            loads(line)
        return
    got = loads(line)
    assert got == expected and repr(got) == repr(expected), line


@pytest.mark.parametrize("line", HAND_WRITTEN)
def test_hand_written_lines_parse_as_literal_eval_does(line):
    _same(line)


def test_the_steam_fixtures_parse_identically_and_mostly_on_the_fast_path():
    folder = demo_dir() / "steam"
    lines = []
    for name in ("steam_reviews.json.gz", "steam_games.json.gz"):
        with gzip.open(folder / name, "rt", encoding="utf-8") as fh:
            lines += fh.read().splitlines()
    assert len(lines) > 100
    for line in lines:
        _same(line)
    assert all(python_literal._fast(line) is not None for line in lines)


def test_random_reprs_parse_identically():
    """``str()`` of random records, the way the UCSD files were written, with every awkward character."""
    rng = random.Random(7)
    alphabet = ["a", "Z", " ", "'", '"', "\\", "\n", "\t", "\r", "\x00", "\x01", "é", "🙂", "\ud800", "{", "}", ",", ":",
                "True", "None", "null", "u'", "\\x", "\\'", "\x0c"]

    def value(depth: int):
        kind = rng.randrange(8 if depth < 3 else 5)
        if kind == 0:
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        if kind == 1:
            return rng.choice([0, -1, 7, 2**70, 1.5, -0.25, 1e-7, 3e300])
        if kind == 2:
            return rng.choice([True, False, None])
        if kind in (3, 4):
            return "".join(rng.choice("abc'\" ") for _ in range(rng.randrange(6)))
        if kind == 5:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        if kind == 6:
            return {"".join(rng.choice(alphabet) for _ in range(3)): value(depth + 1) for _ in range(rng.randrange(4))}
        return tuple(value(depth + 1) for _ in range(rng.randrange(3)))

    for _ in range(3000):
        record = {f"k{i}": value(0) for i in range(rng.randrange(1, 6))}
        _same(str(record))


@pytest.mark.parametrize("text", ["plain", "it's", 'say "hi"', "it's \"both\"", "tab\there", "C:\\games\\x", "back\\", "line\nbreak", "🙂 it's"])
def test_review_texts_stay_on_the_bulk_rewrite(text):
    """The common review shapes (apostrophes, both quote kinds, \\n, \\t, backslashes) are rewritten
    in bulk, not by the regex tokenizer or literal_eval — the speed issue 15 is about."""
    record = {"username": "p1", "text": text, "early_access": False, "found_funny": None, "tags": ["Indie", text]}
    line = str(record).replace("'tags'", "u'tags'")  # a games-file u'' prefix too
    assert python_literal._fast(line) is not None, line
    _same(line)
