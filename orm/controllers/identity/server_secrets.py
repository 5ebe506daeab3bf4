"""Generated secrets kept in the database, so every process and restart agrees on them."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orm.models.model_identity import ServerSecret


def load_or_create(session: Session, names: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        row = session.get(ServerSecret, name)
        if row is None:
            try:
                with session.begin_nested():  # a racing process may insert first
                    session.add(ServerSecret(name=name, value=secrets.token_urlsafe(48)))
            except IntegrityError:
                pass
            row = session.scalars(select(ServerSecret).where(ServerSecret.name == name)).one()
        values[name] = row.value
    return values
