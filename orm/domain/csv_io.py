"""CSV in and out: menu bulk import, inventory import/export, report exports.

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
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from orm.domain.errors import ValidationFailed

UTF8_BOM = b"\xef\xbb\xbf"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# A decimal-comma number: "3,50", "-0,5", ",5", "1.234,50", "1 234,50" (space, no-break or narrow no-break space).
_COMMA_DECIMAL = re.compile(r"(?P<sign>[+-]?)(?P<int>[1-9][0-9]{0,2}(?P<sep>[. \u00a0\u202f])[0-9]{3}"
                            r"(?:(?P=sep)[0-9]{3})*|[0-9]*)(?P<comma>,(?P<frac>[0-9]*))?")
COMMA_DIALECT = (",", ".")  # (field separator, decimal mark)
SEMICOLON_DIALECT = (";", ",")
# Long enough for any real amount, short enough that Decimal's 28-digit
# context and int()'s digit limit are never reached.
_MAX_NUMBER_LEN = 24
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


class FieldError(Exception):
    """One bad value; the caller adds it to RowErrors with the row's line."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str | None  # None when the problem is the whole line or file
    message: str

    def __str__(self) -> str:
        where = (
            f"line {self.row}: {self.field}: " if self.field else f"line {self.row}: "
        )
        return where + self.message


class RowErrors:
    """Problems found in an import, reported all at once."""

    def __init__(self) -> None:
        self._items: list[RowError] = []

    def add(self, row: int, field: str | None, message: str) -> None:
        self._items.append(RowError(row, field, message))

    def extend(self, other: RowErrors) -> None:
        self._items.extend(other._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def _sorted(self) -> list[RowError]:
        # sorted() is stable, so problems within one line keep their order.
        return sorted(self._items, key=lambda e: e.row)

    def as_list(self) -> list[dict[str, Any]]:
        return [
            {"row": e.row, "field": e.field, "message": e.message}
            for e in self._sorted()
        ]

    def messages(self) -> list[str]:
        return [str(e) for e in self._sorted()]

    def summary(
        self, *, created: int = 0, updated: int = 0, skipped: int = 0
    ) -> dict[str, Any]:
        """The import result `data` of API.md, successful or not."""
        return {
            "created": created,
            "updated": updated,
            "skipped": skipped,
            "rowErrors": self.as_list(),
        }

    def exception(
        self, *, created: int = 0, updated: int = 0, skipped: int = 0
    ) -> ValidationFailed:
        """The 400 for a failed import: one string per problem, nothing written."""
        messages = self.messages() or ["the import failed"]
        return ValidationFailed(
            messages[0],
            errors=messages,
            data=self.summary(created=created, updated=updated, skipped=skipped),
        )

    def raise_if_any(
        self, *, created: int = 0, updated: int = 0, skipped: int = 0
    ) -> None:
        if self._items:
            raise self.exception(created=created, updated=updated, skipped=skipped)


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    values: dict[str, str]
    decimal: str = "."  # the file's decimal mark, for numbers inside compound cells (see locale_number)


def _unusable(line: int, field: str | None, message: str) -> ValidationFailed:
    errors = RowErrors()
    errors.add(line, field, message)
    return errors.exception()


def _line_of(prefix: str | bytes) -> int:
    if isinstance(prefix, bytes):
        return len(_LINE_BREAK_BYTES.findall(prefix)) + 1
    return len(_LINE_BREAK.findall(prefix)) + 1


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


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise _unusable(
                1, None, "the file is UTF-16 text; save it as 'CSV UTF-8' instead"
            )
        if data.startswith(b"PK\x03\x04"):
            raise _unusable(
                1,
                None,
                "this is a spreadsheet workbook, not CSV; save it as 'CSV UTF-8'",
            )
        body = data.removeprefix(UTF8_BOM)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _unusable(
                _line_of(body[: exc.start]),
                None,
                "the file is not UTF-8 text; save it as 'CSV UTF-8'",
            ) from None
    if not text.strip():
        raise _unusable(1, None, "the file is empty")
    nul = text.find("\x00")
    if nul >= 0:
        raise _unusable(
            _line_of(text[:nul]),
            None,
            "contains a NUL character; this is not a CSV text file",
        )
    return text


def _describe(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return 'a quoted value is never closed (missing ")'
    if "expected after" in text:
        return 'malformed CSV: text after a closing quote (write "" for a quote inside a quoted value)'
    if "field larger than field limit" in text:
        return "a value is too long (or a quote is never closed)"
    return f"malformed CSV: {text}"


def sniff_dialect(text: str) -> tuple[str, str]:
    """(separator, decimal mark) from the header line: the first line with more than separators and spaces."""
    header = next((ln for ln in _LINE_BREAK.split(text) if ln.strip(" \t,;")), "")
    counts = {",": 0, ";": 0}
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return SEMICOLON_DIALECT if counts[";"] > counts[","] else COMMA_DIALECT


def locale_number(text: str, field: str, decimal: str) -> str:
    """A number as the file wrote it -> the canonical form parse_decimal reads ("1.234,5" -> "1234.5").

    With a dot as decimal mark the text is returned as it is; empty text stays empty.
    """
    s = text.strip()
    if decimal == "." or not s:
        return s
    match = _COMMA_DECIMAL.fullmatch(s)
    if match and match["sep"] == "." and not match["comma"]:
        # "1.500" is 1500 to a German and 1.5 to everybody else: refused rather than guessed.
        whole = match["int"].replace(".", "")
        raise FieldError(field, f"is ambiguous: write {match['sign']}{whole} for {whole}, or "
                                f"{s.replace('.', ',')} for a decimal")
    if match and (match["int"] or match["frac"]):
        whole = match["int"].replace(match["sep"], "") if match["sep"] else match["int"]
        frac = match["frac"]
        return f"{match['sign']}{whole or '0'}" + (f".{frac}" if frac else "")
    if _DECIMAL.fullmatch(s):
        raise FieldError(field, f"this file separates columns with semicolons, so it uses a decimal comma: "
                                f"write {s.replace('.', ',')}, not {s}")
    if "," in s:
        raise FieldError(field, "must be a number with a decimal comma (e.g. 3,50 or 1.234,50)")
    return s  # not a number in any notation: parse_decimal says what is wrong


def _records(text: str, separator: str = ",") -> Iterator[tuple[int, list[str]]]:
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
            raise _unusable(start, None, _describe(exc)) from None
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
        raise _unusable(
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
    text = _decode(data)
    separator, decimal = sniff_dialect(text)
    records = _records(text, separator)
    first = next(records, None)
    if first is None:
        raise _unusable(1, None, "the file is empty")
    names = _header_names(*first, lookup, columns, required)
    rows: list[CsvRow] = []
    for count, (line, cells) in enumerate(records, start=1):
        if count > max_rows:
            raise _unusable(
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
        return _plain_decimal(value) if value.is_finite() else str(value)
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
        raise _unusable(1, "rows", "must be a list of objects")
    if len(rows) > max_rows:
        raise _unusable(
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


def _not_a_number(text: str) -> str:
    lowered = text.casefold()
    if lowered.lstrip("+-") in {"nan", "snan", "inf", "infinity"}:
        return "must be a finite number"
    if "," in text:
        return "must use a dot for decimals and no thousands separator (e.g. 1234.50)"
    if _DECIMAL.fullmatch(lowered.split("e")[0]) and "e" in lowered:
        return "must be written without an exponent (e.g. 1000, not 1e3)"
    return "must be a number (digits and a dot only, no currency symbol)"


def parse_decimal(
    text: str,
    field: str,
    *,
    places: int,
    min_value: Decimal | None = None,
    max_value: Decimal | None = None,
    exclusive_min: bool = False,
) -> Decimal:
    """Strict decimal with at most `places` decimals, returned quantized to `places`.

    Empty text raises "is required": check emptiness first for optional fields.
    Trailing zeros beyond `places` are fine ("2.500" with places=2 is 2.50).
    """
    s = text.strip()
    if not s:
        raise FieldError(field, "is required")
    if len(s) > _MAX_NUMBER_LEN:
        raise FieldError(field, "is too long for a number")
    if not _DECIMAL.fullmatch(s):
        raise FieldError(field, _not_a_number(s))
    value = Decimal(s)
    try:
        quantized = value.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        raise FieldError(field, "is too large") from None
    if quantized != value:
        raise FieldError(field, f"must have at most {places} decimal places")
    if quantized.is_zero():
        quantized = quantized.copy_abs()  # "-0" is plain zero
    if min_value is not None:
        if exclusive_min and quantized <= min_value:
            raise FieldError(field, f"must be greater than {_plain_decimal(min_value)}")
        if not exclusive_min and quantized < min_value:
            raise FieldError(field, f"must be at least {_plain_decimal(min_value)}")
    if max_value is not None and quantized > max_value:
        raise FieldError(field, f"must be at most {_plain_decimal(max_value)}")
    return quantized


def parse_int(
    text: str, field: str, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """Strict whole number ("3", "-3", "+3"; not "3.0"); empty raises "is required"."""
    s = text.strip()
    if not s:
        raise FieldError(field, "is required")
    if len(s) > _MAX_NUMBER_LEN or not _INTEGER.fullmatch(s):
        raise FieldError(field, "must be a whole number")
    value = int(s)
    if min_value is not None and value < min_value:
        raise FieldError(field, f"must be at least {min_value}")
    if max_value is not None and value > max_value:
        raise FieldError(field, f"must be at most {max_value}")
    return value


def parse_bool(text: str, field: str) -> bool | None:
    """true/false, yes/no, 1/0 in any case; empty -> None (not given)."""
    s = text.strip().casefold()
    if not s:
        return None
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise FieldError(field, "must be true or false")


def _plain_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot write {value} as a number")
    if value.is_zero():
        value = value.copy_abs()
    return format(value, "f")  # never an exponent: Decimal("1E+1") -> "10"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _plain_decimal(value)
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
