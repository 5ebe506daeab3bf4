"""Reading CSV text: encoding (UTF-8 with or without BOM), line breaks, the dialect (comma or
semicolon with decimal comma) and strict records with the physical line each starts on.

The rules are csv_io.py's (module docstring).
"""

from __future__ import annotations

import csv
import re

from orm.domain.csv_cells import RowErrors
from orm.domain.errors import ValidationFailed

UTF8_BOM = b"\xef\xbb\xbf"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
COMMA_DIALECT = (",", ".")  # (field separator, decimal mark)
SEMICOLON_DIALECT = (";", ",")


def unusable(line: int, field: str | None, message: str) -> ValidationFailed:
    errors = RowErrors()
    errors.add(line, field, message)
    return errors.exception()


def line_of(prefix: str | bytes) -> int:
    if isinstance(prefix, bytes):
        return len(_LINE_BREAK_BYTES.findall(prefix)) + 1
    return len(_LINE_BREAK.findall(prefix)) + 1


def describe(exc: csv.Error) -> str:
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
