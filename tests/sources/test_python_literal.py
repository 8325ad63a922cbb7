"""The fast Python-literal parser against ast.literal_eval: identical records, or the same error."""

from __future__ import annotations

import ast
import gzip
import random

import pytest

from itdr_hf.pipeline import demo_dir
from itdr_hf.readers.budget import BadLines
from itdr_hf.readers.jsonl import iter_numbered
from itdr_hf.sources import python_literal
from itdr_hf.sources.python_literal import SLOW, loads, loads_lines

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


def _random_reprs(seed: int, count: int) -> list[str]:
    """``str()`` of random records, the way the UCSD files were written, with every awkward character."""
    rng = random.Random(seed)
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

    return [str({f"k{i}": value(0) for i in range(rng.randrange(1, 6))}) for _ in range(count)]


def test_random_reprs_parse_identically():
    for line in _random_reprs(7, 3000):
        _same(line)


@pytest.mark.parametrize("text", ["plain", "it's", 'say "hi"', "it's \"both\"", "tab\there", "C:\\games\\x", "back\\", "line\nbreak", "🙂 it's"])
def test_review_texts_stay_on_the_bulk_rewrite(text):
    """The common review shapes (apostrophes, both quote kinds, \\n, \\t, backslashes) are rewritten
    in bulk, not by the regex tokenizer or literal_eval — the speed issue 15 is about."""
    record = {"username": "p1", "text": text, "early_access": False, "found_funny": None, "tags": ["Indie", text]}
    line = str(record).replace("'tags'", "u'tags'")  # a games-file u'' prefix too
    assert python_literal._fast(line) is not None, line
    _same(line)


# --- loads_lines: many raw lines at once -------------------------------------------------------

# Lines that stress what the chunk rewrite adds: lines next to each other (a value must not run
# on into the next line), the line-end and marker bytes, the cut a line is sorted into, escapes
# rewritten in bulk.
CHUNK_EDGES = [
    "{'a': 1,",  # an open dict: with the next line it would be JSON
    "'b': 2}",
    "[1",
    "2]",
    "{'a': 'ends with a backslash\\",  # before the \n: an escape that must not eat the line end
    "{'a': 1}\\",
    "{'a': \"it's",  # a "…" token that ends on the next line
    "\", 'b': \"it's\"}",
    "3, 4",
    "{'a': [{'b': 1}",
    "{'c': 2}]}",
    "{'d': 1}, {'e': 2}",
    "}",
    "{",
    "{'a': 1}  ",
    "{'a': 1}\t",
    "{'a': 1}  # a comment",
    "{'a': 1} {'b': 2}",
    "\t{'a': 1}",
    "{'text': \"': \\\" is not a dict value here\", 'b': 'it\\'s'}",
    "{'t': 'he said: \"it\\'s\"', 'u': \"it's\"}",  # a '…' with " and a "…" token: neither cut
    "{'t': 'say \"hi\"', 'u': [\"it's\", \"don't\"]}",
    "{'t': 'a \", \"k\": \"', 'u': \"it's\"}",  # cut on " first, it reads as JSON, another dict
    "{'t': \"it's\", 'u': \"don't\"}",  # "…" tokens with an even number of '
    "{'t': \"it's\", 'x': true}",
    "{'t': \"it's\", 'x': NaN}",
    "{'t': \"it's\", 'x': -Infinity}",
    "{'t': 'a\\\\', 'u': \"b's\"}",
    "{'t': 'C:\\\\x41 \\\\u0041 \\\\\\' \\\\/', 'u': 'q'}",
    "{'t': '\\x41\\xe9\\xa0 \\x4', 'u': 1}",
    "{'t': '\\xa0 nbsp', 'u': \"it's\"}",
    "{'t': '\\ud83d\\ude00', 'u': '\\uD800', 'v': '\\u00e9'}",
    "{'t': '\\/', 'u': '\\N{BULLET}', 'v': '\\U0001F642', 'w': '\\0', 'x': '\\a\\v'}",
    "{'t': '\\é', 'u': 'caf\\u00e9 🙂'}",
    "{'t': '\\\"', 'u': \"\\\"\"}",
    "{u'a': u\"it's\", U'b': [u'x', U\"y's\"], 'c': u''}",
    "{'a': 'True', 'b': \"None's\", 'c': True, 'd': None, 'e': False}",
    "{'a': u'x'u'y'}",
    "{'a': 1e400, 'b': -0, 'c': -0.0, 'd': 10**3}",
    "{'a': 12345678901234567890123, 'b': 1.7976931348623157e308, 'c': 5e-324}",
    "{'a': 'x', 'b': 1, 'a': 'y'}",
    "{'a': 18446744073709551615, 'b': 18446744073709551616, 'c': -9223372036854775809, 'd': 10000000000000000000000}",
    "{'a': 0.1, 'b': 1e-7, 'c': 2.5e+300, 'd': 123456789.123456789, 'e': 1e22, 'f': 1e23}",
    "{'del': 'x\x7fy', 'nbsp': 'a\xa0b', 'soft': 'a\xadb'}",
    "{'raw': 'tab\there', 'ff': 'form\x0cfeed', 'esc': 'e\x1b', 'nel': '\x85', 'ls': '\u2028'}",
    "{'a': (1, 2), 'b': {1, 2}, 'c': {1: 2}}",
    "'just a string'",
    "\"it's a string\"",
    "None",
    "[]",
]


@pytest.fixture(params=["msgspec", "json"])
def decoder(request, monkeypatch):
    """loads_lines with each JSON decoder it can use: msgspec (a dependency) and json (without it)."""
    if request.param == "msgspec":
        pytest.importorskip("msgspec")
        assert python_literal._DECODE_BYTES is not None
    else:
        monkeypatch.setattr(python_literal, "_DECODE_BYTES", None)
    return request.param


def _same_many(lines: list[str]) -> list:
    """loads_lines on the lines as a file gives them, each against literal_eval (SLOW: against loads)."""
    got = loads_lines([line.encode("utf-8", "surrogatepass") + b"\n" for line in lines])
    assert len(got) == len(lines)
    for line, value in zip(lines, got):
        if value is SLOW:
            _same(line)
            continue
        expected = ast.literal_eval(line)  # what loads_lines vouches for must be a literal
        assert value == expected and repr(value) == repr(expected), line
    return got


def _fixture_lines() -> list[str]:
    lines = []
    for name in ("steam_reviews.json.gz", "steam_games.json.gz"):
        with gzip.open(demo_dir() / "steam" / name, "rt", encoding="utf-8") as fh:
            lines += fh.read().splitlines()
    return lines


def test_loads_lines_on_the_steam_fixtures_all_in_bulk(decoder):
    lines = _fixture_lines()
    assert SLOW not in _same_many(lines)


@pytest.mark.parametrize("lines", [[h for h in HAND_WRITTEN if "\n" not in h], CHUNK_EDGES], ids=["hand", "edges"])
def test_loads_lines_alone_together_and_among_good_lines(lines, decoder):
    for line in lines:
        _same_many([line])
    _same_many(lines)
    good = _fixture_lines()[:200]
    for at in (0, 1, 77, 199):  # first, second, middle, last of a chunk
        got = _same_many(good[:at] + lines + good[at:])
        assert SLOW not in got[:at] + got[at + len(lines):], "a bad line took its neighbours with it"


def test_loads_lines_random_reprs_in_chunks_of_any_size(decoder):
    lines = _random_reprs(11, 3000)
    rng = random.Random(3)
    start = 0
    while start < len(lines):
        size = rng.choice((1, 2, 3, 17, 256, 700))
        _same_many(lines[start:start + size])
        start += size


@pytest.mark.parametrize("text", ["plain", "it's", 'say "hi"', "it's \"both\"", "tab\there", "C:\\games\\x", "back\\", "line\nbreak",
                                  "🙂 it's", "caf\xe9 \xa0", ': "starts like a value', "it's: \"", "it's and don't", '"', "'"])
def test_review_texts_stay_on_loads_lines_bulk_path(text, decoder):
    """Whatever the cut a line is first sorted into, a review line of any common shape is parsed in bulk."""
    record = {"username": "p1", "text": text, "early_access": False, "found_funny": None, "tags": ["Indie", text]}
    line = str(record).replace("'tags'", "u'tags'")
    good = _fixture_lines()[:50]
    got = _same_many(good[:20] + [line] + good[20:])
    assert SLOW not in got, line


def test_a_bad_line_in_a_chunk_is_left_alone_and_the_others_parse(decoder):
    good = _fixture_lines()[:300]
    for bad in (good[150][:40], good[150].replace("'", "", 1), good[150] + "'", good[150].replace("False", "false")):
        lines = good[:150] + [bad] + good[151:]
        got = _same_many(lines)
        assert got[150] is SLOW and [i for i, v in enumerate(got) if v is SLOW] == [150]
        with pytest.raises((SyntaxError, ValueError)):
            loads(bad)


def test_loads_lines_raw_bytes(decoder):
    good = [line.encode() + b"\n" for line in _fixture_lines()[:20]]
    expected = [ast.literal_eval(line.decode()) for line in good]
    # the last line of a file may lack its \n; CRLF endings are whitespace to both parsers
    assert loads_lines(good[:-1] + [good[-1][:-1]]) == expected
    assert loads_lines([line[:-1] + b"\r\n" for line in good]) == expected
    # not UTF-8, NUL, marker bytes, a bare CR (it ends a Python string): that line alone is left
    for odd in (b"{'a': '\xff'}\n", b"{'a': '\xed\xa0\x80'}\n", b"{'a': 'x\x00'}\n", b"{'a': '\x01\x02\x03\x04'}\n",
                b"{'a': 'x\ry'}\n", b"{'a': 1}\r\r\n", b"{'a': 1}\x0c\n"):
        got = loads_lines(good[:10] + [odd] + good[10:])
        assert got[10] is SLOW and got[:10] + got[11:] == expected, odd
    # a line holding an inner \n breaks the contract: nothing is vouched for
    assert loads_lines([good[0], b"{'a': 1}\n{'b': 2}\n", good[1]]) == [SLOW] * 3
    assert loads_lines([b"{'a': 'x\ny'}\n", good[1]]) == [SLOW] * 2  # a raw line break in a string
    assert loads_lines([b"{'a': 1}", b"{'b': 2}\n{'c': 3}\n"]) == [SLOW] * 2  # right count, wrong places
    assert loads_lines([]) == []


def _reference(path, required=("username",)):
    """iter_numbered's answer the line-by-line way: loads per decoded line."""
    bad = BadLines(path, 1.0)
    records = []
    with gzip.open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                bad.bad(number, f"not valid utf-8 at byte {err.start}")
                continue
            try:
                record = loads(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError) as err:
                bad.bad(number, f"does not parse as a Python literal ({err})")
                continue
            if not isinstance(record, dict):
                bad.bad(number, f"is a {type(record).__name__}, not an object")
                continue
            if any(record.get(f) in (None, "") for f in required):
                bad.bad(number, "missing or empty", field=next(f for f in required if record.get(f) in (None, "")))
                continue
            bad.ok()
            records.append((number, record))
    return records, bad


@pytest.mark.parametrize("batch", [1, 2, 7, 256, 10**6])
def test_the_reader_gives_line_by_line_records_and_bad_lines_at_any_batch_size(tmp_path, monkeypatch, batch, decoder):
    from itdr_hf.readers import jsonl

    monkeypatch.setattr(jsonl, "PYTHON_BATCH", batch)
    good = [line for line in _fixture_lines() if "'username'" in line]  # reviews: games lines lack the field
    lines = [line.encode() for line in good[:300]]
    lines[150] = lines[150][:40]  # cut mid-literal, in the middle of a batch
    lines[151] = lines[151].replace(b"player", b"pl\xffayer", 1)  # not UTF-8, next to it
    lines[255] = lines[255].replace(b"False", b"false")  # a JSON word, at a batch edge
    lines[256] = b"   "  # blank: skipped, not counted
    lines += [line.encode("utf-8") for line in CHUNK_EDGES] + [line.encode() for line in good[300:]]
    path = tmp_path / "steam_reviews.json.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines)))  # no \n after the last line
    bad = BadLines(path, 1.0)
    got = [(number, record) for number, record in iter_numbered(path, bad, parse="python", required=("username",))]
    records, expected_bad = _reference(path)
    assert [n for n, _ in got] == [n for n, _ in records]
    assert all(a == b and repr(a) == repr(b) for (_, a), (_, b) in zip(got, records))
    assert (bad.count, bad.seen) == (expected_bad.count, expected_bad.seen)
    assert [e.split(" (")[0] for e in bad.examples] == [e.split(" (")[0] for e in expected_bad.examples]
    assert bad.examples[0].startswith("line 151: does not parse as a Python literal")
    assert bad.examples[1].startswith("line 152: not valid utf-8 at byte")
    assert bad.examples[2].startswith("line 256: does not parse as a Python literal")
    assert len(got) == len(good) - 4  # three bad lines, one blanked


@pytest.mark.parametrize("batch", [1, 7, 256, 10**6])
def test_the_reader_fails_the_budget_at_the_same_line_at_any_batch_size(tmp_path, monkeypatch, batch):
    """Too many bad lines: the error names the same counts as line by line (nothing read twice)."""
    from itdr_hf.errors import DataError
    from itdr_hf.readers import jsonl

    good = [line for line in _fixture_lines() if "'username'" in line]
    lines = [(good[i % len(good)][:30] if i % 50 == 7 else good[i % len(good)]).encode() for i in range(1500)]
    path = tmp_path / "steam_reviews.json.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    messages = []
    for size in (1, batch):
        monkeypatch.setattr(jsonl, "PYTHON_BATCH", size)
        bad = BadLines(path, 0.01)
        with pytest.raises(DataError) as err:
            list(iter_numbered(path, bad, parse="python", required=("username",)))
        messages.append(str(err.value))
    assert "lines could not be read" in messages[0] and messages[0] == messages[1]


@pytest.mark.parametrize("batch", [7, 256, 10**6])
def test_a_truncated_stream_gives_the_lines_before_it_then_the_error_at_any_batch_size(tmp_path, monkeypatch, batch):
    from itdr_hf.errors import DataError
    from itdr_hf.readers import jsonl

    good = [line for line in _fixture_lines() if "'username'" in line]
    data = gzip.compress("".join(line + "\n" for line in good * 3).encode())
    path = tmp_path / "steam_reviews.json.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    seen = []
    for size in (1, batch):
        monkeypatch.setattr(jsonl, "PYTHON_BATCH", size)
        numbers = []
        with pytest.raises(DataError) as err:
            for number, _ in iter_numbered(path, BadLines(path, 1.0), parse="python", required=("username",)):
                numbers.append(number)
        seen.append((numbers, str(err.value)))
    assert seen[0][0] and seen[0] == seen[1]
