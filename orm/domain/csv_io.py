"""CSV in and out: menu bulk import, inventory import/export, report exports.

This module reads rows (header matching, records -> CsvRow, JSON rows, duplicates); the text
and dialect are csv_dialect.py's, cell parsers and row errors csv_cells.py's, and writing is
csv_write.py's.  The decisions below hold for all four.

Decisions (the API contract leaves these open):

* Input is UTF-8, with or without BOM. UTF-16, Excel workbooks and other
  encodings are refused with a message that says how to re-save the file.
* ``\\r\\n``, ``\\n`` and a lone ``\\r`` (old Mac Excel) each end one line;
  line numbers count physical lines, header = line 1, and a record's line is
  the one where it starts, even when a quoted value spans several lines.
* The dialect is read from the header line: commas separate fields and a dot
  marks decimals (RFC 4180, what we export), unless the header has more
  semicolons than commas outside quotes. Then the file is what a spreadsheet in
  a German or French locale saves: ``;`` separates fields and numbers use a
  decimal comma (``3,50``), optionally grouped by ``.`` or a space
  (``1.234,50``, ``1 234,50``); a decimal dot there (``3.50``) is refused,
  since ``1.234`` means 1234 in that locale. Columns the caller names as
  ``numeric`` are handed over in the canonical dot form either way, and
  ``CsvRow.decimal`` tells parsers of compound cells which mark the file uses.
  Quoting is strict: an unclosed quote or text after a closing quote is
  malformed CSV, reported with the record's line.
* Header names match case-insensitively, ignoring spaces, ``_`` and ``-``
  ("Tax Rate", "tax_rate" -> ``taxRate``); ``aliases`` add other names.
* Blank lines, and lines of only commas/spaces (Excel pads with them), are
  skipped. Trailing empty cells beyond the header are tolerated too.
* Numbers are strict: in a comma-separated file a dot for decimals, no
  thousands separators, no exponent, no currency symbol, no NaN/Infinity.
  "3,50" is refused there rather than guessed, since it could mean 3.50 or 350.
* Text cells starting with = + - @ TAB or CR are written with a leading ``'``
  (OWASP CSV injection), and ``read_csv`` removes exactly that prefix again,
  so an export re-imports unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from orm.domain.csv_cells import FieldError, RowErrors, locale_number, plain_decimal
from orm.domain.csv_dialect import UTF8_BOM, describe, line_of, sniff_dialect, unusable


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    values: dict[str, str]
    decimal: str = "."  # the file's decimal mark, for numbers inside compound cells (see locale_number)


def _normalise(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name).casefold()


def _column_lookup(
    columns: Sequence[str], required: Sequence[str], aliases: Mapping[str, str] | None
) -> dict[str, str]:
    # ValueErrors here are programming mistakes of the caller, not bad files.
    lookup: dict[str, str] = {}
    for column in columns:
        key = _normalise(column)
        if key in lookup:
            raise ValueError(
                f"columns {lookup[key]!r} and {column!r} cannot be told apart"
            )
        lookup[key] = column
    for alias, target in (aliases or {}).items():
        if target not in columns:
            raise ValueError(f"alias {alias!r} points to unknown column {target!r}")
        if lookup.setdefault(_normalise(alias), target) != target:
            raise ValueError(
                f"alias {alias!r} clashes with column {lookup[_normalise(alias)]!r}"
            )
    unknown = [c for c in required if c not in columns]
    if unknown:
        raise ValueError(f"required columns not in columns: {unknown}")
    return lookup


def _decode_text(data: bytes | str) -> str:
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise unusable(
                1, None, "the file is UTF-16 text; save it as 'CSV UTF-8' instead"
            )
        if data.startswith(b"PK\x03\x04"):
            raise unusable(
                1,
                None,
                "this is a spreadsheet workbook, not CSV; save it as 'CSV UTF-8'",
            )
        body = data.removeprefix(UTF8_BOM)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise unusable(
                line_of(body[: exc.start]),
                None,
                "the file is not UTF-8 text; save it as 'CSV UTF-8'",
            ) from None
    if not text.strip():
        raise unusable(1, None, "the file is empty")
    nul = text.find("\x00")
    if nul >= 0:
        raise unusable(
            line_of(text[:nul]),
            None,
            "contains a NUL character; this is not a CSV text file",
        )
    return text


def _read_records(text: str, separator: str = ",") -> Iterator[tuple[int, list[str]]]:
    """Yield (start line, cells) of each non-blank record."""
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=separator, strict=True, skipinitialspace=True
    )
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise unusable(start, None, describe(exc)) from None
        if any(cell.strip() for cell in cells):
            yield start, cells


def _header_names(
    line: int,
    header: list[str],
    lookup: dict[str, str],
    columns: Sequence[str],
    required: Sequence[str],
) -> list[str | None]:
    cells = [cell.strip() for cell in header]
    expected = ", ".join(columns)
    if not any(_normalise(cell) in lookup for cell in cells if cell):
        hint = ""
        if len(cells) == 1 and "\t" in cells[0]:
            hint = "; columns must be separated by commas (or semicolons), not tabs"
        raise unusable(
            line,
            None,
            f"the first line must be a header naming the columns ({expected}){hint}",
        )
    problems = RowErrors()
    names: list[str | None] = []
    seen: set[str] = set()
    for cell in cells:
        column = lookup.get(_normalise(cell)) if cell else None
        if cell and column is None:
            problems.add(line, cell, f"unknown column (expected: {expected})")
        elif column in seen:
            problems.add(line, column, "duplicate column")
            column = None
        names.append(column)  # None: an unnamed (padding) column
        if column:
            seen.add(column)
    for column in required:
        if column not in seen:
            problems.add(line, column, "required column is missing")
    problems.raise_if_any()
    return names


def _unguard(text: str) -> str:
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def _row_from_cells(
    line: int,
    cells: list[str],
    names: list[str | None],
    required: Sequence[str],
    errors: RowErrors,
    decimal: str = ".",
    numeric: Sequence[str] = (),
) -> CsvRow | None:
    before = len(errors)
    if any(cell.strip() for cell in cells[len(names) :]):
        errors.add(
            line,
            None,
            f"has {len(cells)} values but the header has {len(names)} columns",
        )
        return None
    values: dict[str, str] = {}
    for position, name in enumerate(names):
        cell = cells[position].strip() if position < len(cells) else ""
        if name is not None:
            values[name] = _unguard(cell)
        elif cell:
            errors.add(
                line, None, f"value in column {position + 1}, which has no header"
            )
    for column in numeric:
        if column in values:
            try:
                values[column] = locale_number(values[column], column, decimal)
            except FieldError as exc:
                errors.add(line, exc.field, exc.message)
    for column in required:
        if not values.get(column):
            errors.add(line, column, "is required")
    return None if len(errors) > before else CsvRow(line, values, decimal)


def read_csv(
    data: bytes | str,
    *,
    columns: Sequence[str],
    required: Sequence[str] = (),
    max_rows: int = 10_000,
    aliases: Mapping[str, str] | None = None,
    errors: RowErrors | None = None,
    numeric: Sequence[str] = (),
) -> list[CsvRow]:
    """Parse a CSV upload into rows keyed by canonical column name.

    The dialect (comma + decimal dot, or semicolon + decimal comma) comes from
    the header line; the cells of the `numeric` columns come out in dot form.

    A file that cannot be read at all (encoding, header, malformed quoting,
    too many rows) raises ValidationFailed. Per-row problems (too many
    values, empty required value) go into `errors` when given, and that row
    is left out, so the caller can add its own checks and raise once;
    without `errors` they are raised here.
    """
    lookup = _column_lookup(columns, required, aliases)
    collected = RowErrors() if errors is None else errors
    text = _decode_text(data)
    separator, decimal = sniff_dialect(text)
    records = _read_records(text, separator)
    first = next(records, None)
    if first is None:
        raise unusable(1, None, "the file is empty")
    names = _header_names(*first, lookup, columns, required)
    rows: list[CsvRow] = []
    for count, (line, cells) in enumerate(records, start=1):
        if count > max_rows:
            raise unusable(
                line, None, f"too many rows: at most {max_rows} are allowed per file"
            )
        row = _row_from_cells(line, cells, names, required, collected, decimal, numeric)
        if row is not None:
            rows.append(row)
    if errors is None:
        collected.raise_if_any()
    return rows


def _json_text(value: object) -> str | None:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Decimal):
        return plain_decimal(value) if value.is_finite() else str(value)
    if isinstance(value, int | float):
        return str(value)  # shortest repr for floats; parse_decimal then decides
    return None


def rows_from_json(
    rows: object,
    *,
    columns: Sequence[str],
    required: Sequence[str] = (),
    aliases: Mapping[str, str] | None = None,
    max_rows: int = 10_000,
    errors: RowErrors | None = None,
) -> list[CsvRow]:
    """The same contract as read_csv for JSON `{rows: [...]}`; line = index + 2."""
    lookup = _column_lookup(columns, required, aliases)
    if not isinstance(rows, list):
        raise unusable(1, "rows", "must be a list of objects")
    if len(rows) > max_rows:
        raise unusable(
            max_rows + 2, None, f"too many rows: at most {max_rows} are allowed"
        )
    collected = RowErrors() if errors is None else errors
    result: list[CsvRow] = []
    for index, item in enumerate(rows):
        line = index + 2  # as if a header were line 1
        before = len(collected)
        if not isinstance(item, dict):
            collected.add(line, None, "must be an object")
            continue
        values: dict[str, str] = {}
        for key, raw in item.items():
            column = lookup.get(_normalise(str(key)))
            text = _json_text(raw)
            if column is None:
                collected.add(line, str(key), "unknown field")
            elif column in values:
                collected.add(line, column, "given twice")
            elif text is None:
                collected.add(line, column, "must be text, a number or true/false")
            else:
                values[column] = text
        for column in required:
            if not values.get(column):
                collected.add(line, column, "is required")
        if len(collected) == before:
            result.append(CsvRow(line, values))
    if errors is None:
        collected.raise_if_any()
    return result


def find_duplicates(
    rows: Sequence[CsvRow],
    key: Callable[[CsvRow], Hashable | None],
    *,
    field: str | None = None,
) -> RowErrors:
    """Flag the second and later rows with the same key; a None key is never a duplicate."""
    errors = RowErrors()
    first_line: dict[Hashable, int] = {}
    for row in rows:
        k = key(row)
        if k is None:
            continue
        if k in first_line:
            errors.add(row.line, field, f"duplicate of line {first_line[k]}")
        else:
            first_line[k] = row.line
    return errors
