"""Store identity constants shared by every layer (models import them from here)."""

from __future__ import annotations

# The store every install starts with; a single-shop café never sees another.
DEFAULT_STORE_ID = "00000000-0000-0000-0000-000000000001"
