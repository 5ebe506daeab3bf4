"""CSV out: RFC 4180 with a UTF-8 BOM (Excel), plain decimals, formula cells guarded (OWASP).

Text cells starting with = + - @ TAB or CR get a leading ' that csv_io.read_csv removes again,
so an export re-imports unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum

from orm.domain.csv_cells import plain_decimal
from orm.domain.csv_dialect import UTF8_BOM

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise TypeError("floats are not written to CSV; pass a Decimal")
    if isinstance(value, Enum):
        return _cell(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = str(value)
    # A spreadsheet would run it as a formula; numbers above never get here.
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> bytes:
    """RFC 4180 CSV (CRLF, minimal quoting) as UTF-8 with BOM, so Excel reads it as UTF-8.

    Missing keys are written empty; keys not in `columns` are ignored.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(column) for column in columns])
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return UTF8_BOM + buffer.getvalue().encode("utf-8")
