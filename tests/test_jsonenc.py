"""orm/domain/jsonenc.dumps_plain writes the very text dumps writes, for the values it takes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orm.domain import jsonenc

AWKWARD = ['', 'plain', 'quote " and backslash \\ and slash /', 'tab\tnew\nline\rcr\x08bs\x0cff',
           '\x00\x01\x1f\x7f', 'Café crème brûlée', 'ß ø Ω 漢字', '😀 emoji', '\u2028\u2029 line separators',
           '</script>', "'single'", '\ud800 lone surrogate']


def test_every_code_point_is_escaped_alike() -> None:
    # Both encoders escape a string one character at a time, so one string of every code point
    # (in slices) covers every string.
    for start in range(0, 0x110000, 0x10000):
        text = "".join(chr(c) for c in range(start, start + 0x10000))
        assert jsonenc.dumps_plain(text) == jsonenc.dumps(text)
        assert jsonenc.dumps_plain({text: [text]}) == jsonenc.dumps({text: [text]})


def test_plain_values_are_written_alike() -> None:
    value = {"success": True, "data": {"tickets": [
        {"orderId": "o1", "orderNumber": None, "waitingSeconds": 0, "big": 10 ** 30, "negative": -7,
         "flag": False, "items": [], "empty": {}, "names": AWKWARD, AWKWARD[2]: AWKWARD[5],
         "nested": [[1, [2, [3, {"a": None}]]]]}]}, "errors": [], "timestamp": "2026-12-07T11:00:00.000Z"}
    assert jsonenc.dumps_plain(value) == jsonenc.dumps(value)
    assert jsonenc.loads(jsonenc.dumps_plain(value)) == value


def test_floats_are_written_alike() -> None:
    # GET /health: its latency and uptime are floats (repr, in both encoders).
    for number in (0.37, 12345.6, 1e-07, 1.5e300, -0.0, 2.0, 0.1 + 0.2):
        value = {"latencyMs": number, "nested": [number]}
        assert jsonenc.dumps_plain(value) == jsonenc.dumps(value)


@pytest.mark.parametrize("value", [Decimal("3.50"), datetime(2026, 12, 7, tzinfo=UTC), {1, 2}, b"bytes"])
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(TypeError):
        jsonenc.dumps_plain({"x": [value]})


def test_simplejson_is_given_an_escaper_that_writes_what_its_own_writes() -> None:
    import simplejson

    escape = jsonenc.C_STRING_ESCAPE
    assert escape is not None and simplejson.encoder.encode_basestring is escape
    for start in range(0, 0x110000, 0x10000):
        text = "".join(chr(c) for c in range(start, start + 0x10000))
        assert escape(text) == jsonenc.SIMPLEJSON_STRING_ESCAPE(text)
    for text in AWKWARD:
        assert escape(text) == jsonenc.SIMPLEJSON_STRING_ESCAPE(text)
    order = {"total": Decimal("18.30"), "createdAt": datetime(2026, 12, 7, 9, 30, tzinfo=UTC), "names": AWKWARD}
    assert jsonenc.dumps(order).startswith('{"total":18.30,"createdAt":"2026-12-07T09:30:00.000Z","names":["",')
    assert jsonenc.loads(jsonenc.dumps(order)) == {**order, "createdAt": "2026-12-07T09:30:00.000Z"}
