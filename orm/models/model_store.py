"""Stores: a café chain is rows here, not a rewrite (DESIGN.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from orm.models.base import Base, created_at_column, id_column


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    address: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()
