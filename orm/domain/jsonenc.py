"""JSON in and out: Decimals stay exact both ways, times are ISO-8601 UTC with Z."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import simplejson

# No request body of ours nests deeper than a handful of levels; a parser (and every recursive
# walk after it) given thousands of levels runs out of stack, so deeper bodies are refused first.
MAX_NESTING_DEPTH = 32
# A string (to its closing quote, or to the end when unterminated, so no quote is scanned twice)
# or one bracket: finding them is linear in the body, whatever it contains.
_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\Z)|[\[\]{}]', re.S)
_OPENERS = frozenset(b"[{")


def iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return iso_utc(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


# simplejson's C encoder escapes a string in C only when ensure_ascii is on; with it off (ours: UTF-8
# out) it calls its pure-Python `encode_basestring` for every string - half the time of encoding an
# order.  The standard library's C function escapes exactly alike (tests/test_jsonenc.py checks every
# code point against simplejson's own), so simplejson is given that one: simplejson reads the name from
# its module each time it encodes, and only this module uses simplejson for output.
SIMPLEJSON_STRING_ESCAPE = simplejson.encoder.encode_basestring
C_STRING_ESCAPE = getattr(json.encoder, "c_encode_basestring", None)  # None: CPython built without _json
if C_STRING_ESCAPE is not None:
    simplejson.encoder.encode_basestring = C_STRING_ESCAPE

# use_decimal writes Decimal('3.50') as the number 3.50, never through a float.  One encoder for
# every call: simplejson.dumps builds a new one per call whenever an option is not its default.
_ENCODER = simplejson.JSONEncoder(use_decimal=True, default=_default, ensure_ascii=False, separators=(",", ":"))


def dumps(obj: Any) -> str:
    text: str = _ENCODER.encode(obj)
    return text


# simplejson's C encoder calls back into Python for every string when ensure_ascii is off (its C
# string escaper is the ASCII one - now given the standard library's, see above), and for every datetime
# through `default`.  The standard library's C encoder writes str, int, float, bool, None, lists and
# dicts exactly as `dumps` does with these options (tests/test_jsonenc.py compares them); it has no
# `default`, so a Decimal, datetime or anything else raises TypeError.
_PLAIN_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps_plain(obj: Any) -> str:
    """`dumps` for values made only of str, int, float, bool, None, lists and dicts (times already ISO
    strings, no money): the same text, written by the standard library's C encoder; TypeError on
    anything else."""
    text: str = _PLAIN_ENCODER.encode(obj)
    return text


def nesting_exceeds(raw: bytes, limit: int = MAX_NESTING_DEPTH) -> bool:
    """Whether the arrays and objects of a JSON text nest deeper than `limit` (brackets inside
    strings do not count).  Checked before parsing, so no parser recursion ever sees such a body."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(raw):
        byte = raw[match.start()]
        if byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif byte != 0x22:  # a closing bracket
            depth -= 1
    return False


def loads(text: str | bytes) -> Any:
    return simplejson.loads(text, use_decimal=True)


def is_decimal(value: Any) -> bool:
    return isinstance(value, Decimal)
