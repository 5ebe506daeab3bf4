"""E-mail address lists as settings and report requests accept them."""

from __future__ import annotations

import re

# Deliberately simple: catches typos ("anna@", "anna cafe.de"); the SMTP server has the last word.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL = re.compile(rf"^[^@\s,;<>\"]+@{_LABEL}(?:\.{_LABEL})+$")


def email_addresses(values: list[str]) -> list[str]:
    """Trimmed, validated e-mail addresses without case-insensitive duplicates (recipient lists)."""
    out: list[str] = []
    for i, address in enumerate(values):
        address = address.strip()
        if len(address) > 254 or not EMAIL.fullmatch(address):
            raise ValueError(f"entry {i + 1} ({address!r}) is not an e-mail address")
        if address.lower() not in {a.lower() for a in out}:
            out.append(address)
    return out
