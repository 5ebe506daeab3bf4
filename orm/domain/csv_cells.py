"""Cell parsers for CSV imports (strict numbers with a dot or a locale decimal comma, integers,
booleans) and the row errors they end up in.

The rules are csv_io.py's (module docstring); a bad cell raises FieldError(field, message),
which the readers record in RowErrors with the row's line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from orm.domain.errors import ValidationFailed

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# A decimal-comma number: "3,50", "-0,5", ",5", "1.234,50", "1 234,50" (space, no-break or narrow no-break space).
_COMMA_DECIMAL = re.compile(r"(?P<sign>[+-]?)(?P<int>[1-9][0-9]{0,2}(?P<sep>[. \u00a0\u202f])[0-9]{3}"
                            r"(?:(?P=sep)[0-9]{3})*|[0-9]*)(?P<comma>,(?P<frac>[0-9]*))?")


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
            raise FieldError(field, f"must be greater than {plain_decimal(min_value)}")
        if not exclusive_min and quantized < min_value:
            raise FieldError(field, f"must be at least {plain_decimal(min_value)}")
    if max_value is not None and quantized > max_value:
        raise FieldError(field, f"must be at most {plain_decimal(max_value)}")
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


def plain_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot write {value} as a number")
    if value.is_zero():
        value = value.copy_abs()
    return format(value, "f")  # never an exponent: Decimal("1E+1") -> "10"
