"""Canonical JSON: one spelling per value, so equal facts hash equally on every database.

Used by the journal's hash chain and by the order fingerprint of idempotent sales.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_AS_IS = frozenset({str, int, bool, float, type(None)})


def _plain(value: Any) -> Any:
    if type(value) in _AS_IS:  # the common case first: it is hashed inside the counter lock
        return value
    if isinstance(value, Decimal):
        # One spelling per value: 3.5, 3.50 and 3.500 all become "3.5".
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, Decimals and times spelled one way: stable across databases."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
