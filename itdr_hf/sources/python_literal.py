"""Python-literal lines (the UCSD Steam files) parsed through the C JSON parser.

:func:`ast.literal_eval` compiles each line to an AST and walks it in Python: about 10K lines/s,
13 minutes for the 7.8M-line review file. The lines are Python ``repr`` output, which differs
from JSON only in quoting, ``True``/``False``/``None`` and a few escapes. :func:`loads` rewrites
just those tokens (bulk string operations) and hands the line to the C JSON scanner; anything it does
not fully understand — an escape JSON spells differently, a tuple, a non-string key, a bare
name, a number JSON cannot read — goes to :func:`ast.literal_eval` instead, so the result is
always what ``literal_eval`` returns (checked by a differential test).
"""

from __future__ import annotations

import ast
import json
import re

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
