"""Database liveness for /health."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def ping(session: Session) -> bool:
    return bool(session.execute(text("SELECT 1")).scalar_one() == 1)
