"""Python-literal lines (the UCSD Steam files) parsed through the C JSON parser.

:func:`ast.literal_eval` compiles each line to an AST and walks it in Python: about 10K lines/s,
13 minutes for the 7.8M-line review file. The lines are Python ``repr`` output, which differs
from JSON only in quoting, ``True``/``False``/``None`` and a few escapes. :func:`loads` rewrites
just those tokens (bulk string operations) and hands the line to the C JSON scanner; anything it does
not fully understand — an escape JSON spells differently, a tuple, a non-string key, a bare
name, a number JSON cannot read — goes to :func:`ast.literal_eval` instead, so the result is
always what ``literal_eval`` returns (checked by a differential test).

:func:`loads_lines` is what the reader uses: the same rewrite done once for a chunk of ~250 raw
lines, on bytes, then each line's JSON decoded alone (msgspec, or json's scanner without it), so
a line the rewrite cannot vouch for is left to :func:`loads` without taking its neighbours with
it. About 6x ``literal_eval`` on the benchmark's lines, where ``loads`` is under 4x.
"""

from __future__ import annotations

import ast
import json
import re
from itertools import repeat

# A string token (optional u prefix, single or double quotes, any escapes), or a bare word, or
# a character JSON reads differently from Python outside strings.
_TOKEN = re.compile(
    r"""[uU]?'(?:[^'\\\r\n]|\\.)*'|[uU]?"(?:[^"\\\r\n]|\\.)*"|[A-Za-z_][A-Za-z_0-9]*|[()\x00]"""
    r"""|[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?[\w.]*""",
)
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_WORDS = {"True": "true", "False": "false", "None": "null"}
# Escapes JSON reads as Python does: \\ \" \n \t \r \b \f \uXXXX. ``\'`` is handled below; any
# other (``\x``, ``\0``, ``\/``, ``\a``, ``\N{…}``, ``\U…``, an unknown escape kept verbatim)
# sends the line to literal_eval.
_SAFE_ESCAPES = re.compile(r"\\(?:[\\\"ntrbf']|u(?![dD][89a-fA-F])[0-9a-fA-F]{4})")  # JSON pairs surrogates, Python does not
_DECODER = json.JSONDecoder(strict=False)  # Python strings may hold raw TABs; JSON's strict mode forbids them
_SCAN = _DECODER.scan_once


# Tier 1 does no Python work per token (on 3.11 a regex callback or group template costs a
# Python call per match, which is what made a tokenizer no faster than literal_eval). When the
# escapes are not only \n \t \r \b \f \\ (one C search says so), one regex pass lists them:
# any JSON reads differently sends the line to tier 2, and \' — the one escaped quote repr
# writes — becomes \u0027. Then every quote left delimits a string, so the line is cut with
# str.split on ': when no " is in the code pieces every string was a '…' token, and joining the
# pieces back with " (a " inside them escaped) makes JSON strings; otherwise the "…" tokens
# (texts with apostrophes) are cut out first on " (_mixed). The code pieces between strings get
# True/False/None → true/false/null and lose the u prefix, in bulk. Lines where a '…' token
# holds a " and "…" tokens are there too, or with a raw line break, are cut by one regex split.
# Anything a bulk rewrite could get wrong is checked first, by C-level searches, and sent to
# tier 2: an escape JSON reads differently from Python (\x, \0, \/, \N{…}, \U…, a surrogate
# \uD800-DFFF, an unknown escape), a bare name JSON accepts but Python does not (true, false,
# null, NaN, Infinity), a quote the pairing cannot account for (quote parity, markers). Forms
# only Python reads (tuples, sets, int keys, 1_000, 0x1F, 1., .5, trailing commas, b''/r'')
# make the JSON parse fail and go to tier 2 as well.
_SPLIT = re.compile(
    r"""(?:(')|")((?(1)[^'\\\r\n]*(?:\\.[^'\\\r\n]*)*|[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*))(?(1)'|")"""
)
_UNSAFE_ESCAPE = re.compile(r"""\\(?![ntrbf"']|u(?![dD][89a-fA-F])[0-9a-fA-F]{4})""")
_NOT_PLAIN = re.compile(r"\\(?![ntrbf\\])")  # a backslash before anything but n t r b f \\ (either of a \\\\ pair)
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|[\s\S])")
# Escapes JSON reads as Python does (besides \uXXXX outside the surrogates, checked one by one).
_PLAIN_ESCAPES = frozenset(("\\n", "\\t", "\\r", "\\b", "\\f", "\\\\", "\\'"))


def _fast(line: str) -> str | None:
    """The line as JSON text, or None where the bulk rewrite cannot be trusted."""
    if "\x01" in line or "\x03" in line or "\x04" in line:  # the markers used below (memchr, not a regex)
        return None
    if "\n" in line or "\r" in line:  # a raw line break ends a Python string (JSON would read on): the regex knows
        return _split_by_regex(line)
    text = line
    if "\\" in line and not _plain_escapes_only(line):
        # Not only \n, \t, \\ …: one regex pass lists the escapes, paired left to right (a
        # scan per 2-character search costs as much as the whole split below on a long,
        # non-ASCII review).
        escapes = set(_ESCAPE.findall(line))
        if '\\"' in escapes:  # never in repr output; hand-written lines go the long way
            return _split_by_regex(line)
        for escape in escapes.difference(_PLAIN_ESCAPES):
            if len(escape) != 6 or escape[2] in "dD" and escape[3] in "89abcdefABCDEF":
                return None  # \x, \0, \/, \N{…}, \U…, a surrogate (JSON pairs them), an unknown escape
        if "\\'" in escapes:
            # \' — the only escaped quote Python's repr writes — becomes \u0027, which JSON reads
            # as ': what is left of the quotes delimits strings. An escaped backslash before a
            # quote is set aside first so that \\' stays a backslash and a closing quote.
            if "\\\\" in escapes:
                text = line.replace("\\\\", "\x04").replace("\\'", "\\u0027").replace("\x04", "\\\\")
            else:
                text = line.replace("\\'", "\\u0027")
    # What is left of the escapes (\n, \t, \uXXXX, …) reads the same in JSON and cannot hide a
    # quote: every quote left delimits a string.
    pieces = text.split("'")
    code = "\x01".join(pieces[0::2])
    if not len(pieces) % 2 or '"' in code:
        # "…" tokens (texts with apostrophes): see _mixed. (A '…' token's own " are in the
        # bodies, never here, once the ' before them are paired correctly.)
        out = _mixed(text)
        return _split_by_regex(line) if out is None else out
    # Every string is a '…' token: its quotes become ", a " inside it is escaped.
    code = _fix_code(code)
    if code is None:
        return None
    if '"' in text:
        pieces = text.replace('"', '\\"').split("'")  # no " in the code pieces: they are unchanged
    pieces[0::2] = code.split("\x01")
    return '"'.join(pieces)


def _plain_escapes_only(line: str) -> bool:
    """True when every escape is \\n, \\t, \\r, \\b, \\f or \\\\ (one C search unless a \\\\ pair is followed by a letter)."""
    start = 0
    while (match := _NOT_PLAIN.search(line, start)) is not None:
        end = match.start()
        run = end
        while run and line[run - 1] == "\\":
            run -= 1
        if not (end - run) % 2:  # an even run of backslashes before it: this one starts an escape
            return False
        start = end + 1
    return True


def _mixed(text: str) -> str | None:
    """JSON text for a line with "…" tokens and no escaped quote left; None if a '…' holds a "."""
    # Split on ": the odd parts are "…" bodies as long as no '…' token holds a " — then every
    # code part between them holds an even number of ', which the marker \x03 (one per "…"
    # token) checks: each must land in a code piece of the ' split of the joined code parts.
    parts = text.split('"')
    if not len(parts) % 2:
        return None
    pieces = "\x03".join(parts[0::2]).split("'")
    if not len(pieces) % 2:
        return None
    code = "\x01".join(pieces[0::2])
    if code.count("\x03") != len(parts) // 2:
        return None
    code = _fix_code(code)
    if code is None:
        return None
    pieces[0::2] = code.split("\x01")
    parts[0::2] = '"'.join(pieces).split("\x03")
    return '"'.join(parts)


def _split_by_regex(line: str) -> str | None:
    """Tier 1 for lines with both quote kinds and escapes: tokens found by one regex split."""
    # [code, quote, body, code, quote, body, …, code]; the quotes are dropped and every body
    # is joined back between double quotes, as above.
    pieces = _SPLIT.split(line)
    del pieces[1::3]
    bodies = "\x01".join(pieces[1::2])
    changed = False
    if "\\" in bodies:
        bodies = bodies.replace("\\\\", "\x04")  # escaped backslashes out of the way: escapes pair left to right
        if '\\"' in bodies or _UNSAFE_ESCAPE.search(bodies):
            return None
        bodies = bodies.replace("\\'", "'").replace("\x04", "\\\\")  # \' is not JSON; in either quote kind it is '
        changed = True
    if '"' in bodies:  # a raw " can only be inside a '…' token (the text held both quote kinds)
        bodies = bodies.replace('"', '\\"')
        changed = True
    if changed:
        pieces[1::2] = bodies.split("\x01")
    code = "\x01".join(pieces[0::2])
    if "'" in code or '"' in code:  # a quote no token took (a string with a raw line break): not JSON's to read
        return None
    code = _fix_code(code)
    if code is None:
        return None
    pieces[0::2] = code.split("\x01")
    return '"'.join(pieces)


def _fix_code(code: str) -> str | None:
    """The code between strings (joined by markers) in JSON spelling; None where a name JSON reads is there."""
    # Plain substring tests and replaces on the short, ASCII code: cheaper than one regex pass.
    if "true" in code or "false" in code or "null" in code or "NaN" in code or "Infinity" in code:
        return None
    if "True" in code:
        code = code.replace("True", "true")
    if "False" in code:
        code = code.replace("False", "false")
    if "None" in code:
        code = code.replace("None", "null")
    if "u\x01" in code or "U\x01" in code or "u\x03" in code or "U\x03" in code:
        code = code.replace("u\x01", "\x01").replace("U\x01", "\x01").replace("u\x03", "\x03").replace("U\x03", "\x03")
    return code


class _Unsupported(Exception):
    pass


def _token(match: re.Match) -> str:
    text = match.group()
    first = text[0]
    if first in "uU" and len(text) > 1 and text[1] in "'\"":
        text = text[1:]
        first = text[0]
    if first == "'":
        body = text[1:-1]
        if "\\" in body:
            if _SAFE_ESCAPES.sub("", body).count("\\"):
                raise _Unsupported
            body = body.replace("\\'", "'")
            if '\\"' in body:
                raise _Unsupported
        return '"' + body.replace('"', '\\"') + '"' if '"' in body else '"' + body + '"'
    if first == '"':
        if "\\" in text and _SAFE_ESCAPES.sub("", text[1:-1]).count("\\"):
            raise _Unsupported
        if "\\'" in text:
            raise _Unsupported  # \' inside "…" is not JSON; rare, leave it to literal_eval
        return text
    if first in "-+.0123456789":
        if _JSON_NUMBER.fullmatch(text):
            return text
        raise _Unsupported  # 1_000, 0x1F, 1., .5, +5, 5j: Python's own reading
    word = _WORDS.get(text)
    if word is None:  # another name (nan, inf, set, b'' prefix …), a tuple, a float like 1. or .5, hex …
        raise _Unsupported
    return word


def loads(line: str) -> object:
    """The value of one Python literal, exactly as :func:`ast.literal_eval` gives it."""
    if "\x00" in line:  # literal_eval refuses a NUL anywhere; JSON would read it inside a string
        return ast.literal_eval(line)
    text = _fast(line)
    if text is not None:
        try:  # the C scanner straight away; decode() adds two whitespace regexes per line
            value, end = _SCAN(text, 0)
        except StopIteration:  # leading whitespace, or not JSON: decode() says which
            end = -1
        except ValueError:  # not JSON
            end = -2
        if end == len(text):
            return value
        if end != -2:
            try:  # whitespace around the value
                return _DECODER.decode(text)
            except ValueError:
                pass
    try:  # tier 2: token by token, for strings holding quotes or escapes JSON spells otherwise
        return _DECODER.decode(_TOKEN.sub(_token, line))
    except (_Unsupported, ValueError):
        return ast.literal_eval(line)


# --- Many lines at once ------------------------------------------------------------------------
#
# loads() pays ~10 C-level string operations per line, each with a fixed cost, and decodes the
# line before rewriting it (a review with one emoji is a 4-byte-per-character str). loads_lines()
# rewrites a whole chunk of raw UTF-8 lines with the same operations done once per chunk, on bytes
# (every byte the rewrite looks at is ASCII, and UTF-8 never puts an ASCII byte inside a multi-byte
# character), and decodes the JSON line by line (msgspec on each line's bytes, or json's C scanner
# on the chunk decoded once), so a line that is not what the rewrite assumed fails alone. Nothing
# is trusted without a check:
#
# - line ends are \n, one per line; in the JSON they become \x02, which JSON does not skip as
#   whitespace, so a value cannot run on into the next line and each scan must end at its line's
#   \x02 (trailing spaces and tabs allowed, as Python allows them);
# - a line with NUL (literal_eval refuses it), a marker byte (\x01-\x04) or a CR other than a
#   CRLF ending (a raw CR ends a Python string, JSON reads on) is left to loads();
# - escapes are found by one regex search; the few that JSON spells differently are rewritten
#   (\' and \" to \u0027 and \u0022, so no escaped quote is left to confuse the pairing below;
#   \xHH to \u00HH) and every other one (\/, \0, \N{…}, \U…, a surrogate \uD800-DFFF, which JSON
#   would pair, an unknown escape) is spoiled so that JSON rejects that line;
# - then every quote left delimits a string or is a character of a string of the other kind.
#   Lines whose strings are all '…' tokens (any " inside them escaped) are cut with split on ';
#   lines with "…" tokens (texts with apostrophes) on " first (see _double_quoted). Each cut is
#   checked: every line end, and every "…" token, must fall outside strings; a line whose quotes
#   do not pair up is found (an odd ' count, or by halving the group) and left to loads();
# - code between strings gets True/False/None → true/false/null and loses its u prefixes; a name
#   JSON reads but Python does not (true, null, NaN, Infinity) is spoiled.
#
# Whatever JSON then rejects (tuples, sets, int keys, 1_000, b'', comments, leading blanks, …)
# goes to loads(), which gives literal_eval's answer or error. The differential tests compare both.


class _Slow:
    def __repr__(self) -> str:
        return "SLOW"


SLOW = _Slow()
"""The entry :func:`loads_lines` gives a line it leaves to :func:`loads` (decode it first)."""

# An escaped backslash (kept: matching it consumes the pair, so escapes pair left to right as
# Python pairs them), or an escape JSON does not read as Python does (the plain ones, \n \t \r \b
# \f and \uXXXX outside the surrogates, are left unmatched). A backslash before the line end is
# left too: spoiling it would take the line end with it (the line fails on its own anyway).
_ESCAPE_FIX = re.compile(rb"\\(?:\\|[^ntrbf\\u\n]|u[dD][89a-fA-F])")
_JSON_ESCAPE = {b"\\\\": b"\\\\", b"\\'": b"\\u0027", b'\\"': b"\\u0022", b"\\x": b"\\u00"}
_SPOILED = b"\\\x00"  # an escape JSON rejects
_TRAILING = re.compile(r"[ \t]*")

try:  # msgspec's JSON decoder reads a line's bytes ~2x as fast as json's scanner reads the decoded str
    from msgspec.json import Decoder as _Decoder

    _DECODE_BYTES = _Decoder().decode
except ImportError:  # pragma: no cover - depends on the environment; json's scanner then
    _DECODE_BYTES = None


def loads_lines(lines: list[bytes]) -> list:
    """The values of many UTF-8 lines, each exactly what :func:`loads` gives for the decoded line.

    ``lines`` are raw lines as a file gives them: each ends with ``\\n`` (the last may not) and
    holds no other ``\\n``. Where a line is not UTF-8, not a literal, or not of a shape the bulk
    rewrite handles, its entry is :data:`SLOW`: decode it and call :func:`loads`, which gives
    literal_eval's value or error. About 250 lines a call amortise the per-call work.
    """
    n = len(lines)
    out: list = [SLOW] * n
    if not n:
        return out
    if not all(map(bytes.endswith, lines[:-1], repeat(b"\n"))):
        return out  # not lines as a file gives them
    text = b"".join(lines)
    if not text.endswith(b"\n"):
        text += b"\n"
    if b"\x00" in text or b"\x01" in text or b"\x02" in text or b"\x03" in text or b"\x04" in text or b"\r" in text:
        keep, text = _without_control_bytes(lines)
    else:
        keep = range(n)
    if b"\\" in text and _ESCAPE_FIX.search(text) is not None:
        text = _ESCAPE_FIX.sub(_escape, text)
    if b'"' not in text:
        if text.count(b"\n") != len(keep):  # a line with an inner \n: a raw line break inside a string must raise
            return [SLOW] * n
        json_text = _single_quoted(text, len(keep))
        if json_text is not None:
            _scan(json_text, range(len(keep)), keep, out)
            return out
    split = text.split(b"\n")
    split.pop()
    if len(split) != len(keep):  # a line with an inner \n
        return [SLOW] * n
    # "…" tokens: an odd number of ' (an apostrophe in one), or one as a dict value (': " is a '…'
    # key's end before a "…" value, unless a '…' text starts with : "). A line misjudged here
    # fails its cut and is tried with the other one.
    double = [b'"' in line and (line.count(b"'") % 2 == 1 or b"': \"" in line) for line in split]
    single = [p for p, d in enumerate(double) if not d]
    double = [p for p, d in enumerate(double) if d]
    if single:
        failed = _single_group(split, single, keep, out, None if double else text)
        retry = [p for p in failed if b'"' in split[p]]  # "…" tokens after all
        if retry:
            _double_group(split, retry, keep, out)
    if double:
        failed = _double_group(split, double, keep, out)
        if failed:  # no "…" token after all
            _single_group(split, failed, keep, out)
    return out


def _without_control_bytes(lines: list[bytes]) -> tuple[list[int], bytes]:
    """The lines loads_lines can take (CRLF endings made LF) and their text; the others stay SLOW."""
    keep, kept = [], []
    for i, line in enumerate(lines):
        if line.endswith(b"\r\n"):
            line = line[:-2] + b"\n"
        elif not line.endswith(b"\n"):
            line += b"\n"
        if b"\x00" in line or b"\x01" in line or b"\x02" in line or b"\x03" in line or b"\x04" in line or b"\r" in line:
            continue
        keep.append(i)
        kept.append(line)
    return keep, b"".join(kept)


def _escape(match: re.Match) -> bytes:
    return _JSON_ESCAPE.get(match.group(), _SPOILED)


def _single_quoted(text: bytes, k: int) -> bytes | None:
    """JSON for ``k`` lines taking every ' as a delimiter; None where a line's ' do not pair up.

    A line with "…" tokens comes out as JSON that fails to parse: its " fall in code, where they
    are escaped (a backslash outside a JSON string is an error).
    """
    if b'"' in text:
        text = text.replace(b'"', b'\\"')
    pieces = text.split(b"'")
    code = b"\x01".join(pieces[0::2])
    if code.count(b"\n") != k:  # a line end inside a string: some line has an odd number of '
        return None
    pieces[0::2] = _code_to_json(code).split(b"\x01")
    return b'"'.join(pieces)


def _double_quoted(text: bytes, k: int) -> bytes | None:
    """JSON for ``k`` lines with "…" tokens; None unless every " pairs up outside '…' tokens.

    Cut on " first: the odd parts are "…" bodies as long as no '…' token holds a " — checked by
    the marker \\x03 standing for each "…" token, which must land in code when the rest is cut on '.
    """
    parts = text.split(b'"')
    if not len(parts) % 2:
        return None
    pieces = b"\x03".join(parts[0::2]).split(b"'")
    code = b"\x01".join(pieces[0::2])
    if code.count(b"\n") != k or code.count(b"\x03") != len(parts) // 2:
        return None
    pieces[0::2] = _code_to_json(code).split(b"\x01")
    parts[0::2] = b'"'.join(pieces).split(b"\x03")
    return b'"'.join(parts)


def _code_to_json(code: bytes) -> bytes:
    """The code between strings (markers \\x01 and \\x03 for strings, \\n for line ends) in JSON spelling."""
    if b"true" in code or b"false" in code or b"null" in code or b"NaN" in code or b"Infinity" in code:
        for name in (b"true", b"false", b"null", b"NaN", b"Infinity"):  # JSON reads them, Python does not
            code = code.replace(name, b"\x00")
    if b"True" in code:
        code = code.replace(b"True", b"true")
    if b"False" in code:
        code = code.replace(b"False", b"false")
    if b"None" in code:
        code = code.replace(b"None", b"null")
    if b"u\x01" in code or b"U\x01" in code or b"u\x03" in code or b"U\x03" in code:
        code = code.replace(b"u\x01", b"\x01").replace(b"U\x01", b"\x01").replace(b"u\x03", b"\x03").replace(b"U\x03", b"\x03")
    return code.replace(b"\n", b"\x02")


def _single_group(split: list[bytes], group: list[int], keep, out: list, text: bytes | None = None) -> list[int]:
    """Parse ``split[p]`` for ``p`` in ``group`` (all of them: ``text``) with _single_quoted; the positions that failed."""
    if text is None:
        text = b"\n".join([split[p] for p in group]) + b"\n"
    json_text = _single_quoted(text, len(group))
    if json_text is not None:
        return _scan(json_text, group, keep, out)
    odd = [p for p in group if split[p].count(b"'") % 2]
    if not odd:  # cannot happen (even counts pair up line by line); never loop
        return group
    rest = [p for p in group if split[p].count(b"'") % 2 == 0]
    return odd + (_single_group(split, rest, keep, out) if rest else [])


def _double_group(split: list[bytes], group: list[int], keep, out: list) -> list[int]:
    """Parse with _double_quoted, halving the group until the lines whose quotes do not pair are alone."""
    json_text = _double_quoted(b"\n".join([split[p] for p in group]) + b"\n", len(group))
    if json_text is not None:
        return _scan(json_text, group, keep, out)
    if len(group) == 1:
        return group
    half = len(group) // 2
    return _double_group(split, group[:half], keep, out) + _double_group(split, group[half:], keep, out)


def _scan(json_text: bytes, group, keep, out: list) -> list[int]:
    """Scan one JSON value per \\x02-ended line into ``out[keep[p]]``; the positions that failed."""
    decode = _DECODE_BYTES
    if decode is not None:
        # msgspec gives the values json's scanner gives (an int of any size, the float nearest
        # the digits, the last of a repeated key in the place of the first); it also takes blanks
        # and tabs before the value, as literal_eval does. What it refuses on top of json (a raw
        # control character in a string, 1e400, bytes that are not UTF-8, which the reader must
        # count as such) goes to loads(). The differential tests run both decoders.
        failed = []
        for p, line in zip(group, json_text.split(b"\x02")):
            try:
                out[keep[p]] = decode(line)
            except (ValueError, RecursionError):
                failed.append(p)
        return failed
    try:
        text = json_text.decode("utf-8")
    except UnicodeDecodeError:
        return _scan_each(json_text, group, keep, out)
    failed = []
    scan = _SCAN
    start = 0
    for p in group:
        try:
            value, end = scan(text, start)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            if text[end] != "\x02":
                end = _TRAILING.match(text, end).end()
            if text[end] == "\x02":
                out[keep[p]] = value
                start = end + 1
                continue
        failed.append(p)
        start = text.index("\x02", start) + 1
    return failed


def _scan_each(json_text: bytes, group, keep, out: list) -> list[int]:
    """_scan for a chunk with a line that is not UTF-8: each line decoded alone."""
    failed = []
    for p, line in zip(group, json_text.split(b"\x02")):
        try:
            text = line.decode("utf-8")
            value, end = _SCAN(text, 0)
        except (UnicodeDecodeError, StopIteration, ValueError, RecursionError):
            failed.append(p)
            continue
        if not text[end:].strip(" \t"):
            out[keep[p]] = value
        else:
            failed.append(p)
    return failed
