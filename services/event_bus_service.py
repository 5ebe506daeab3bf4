"""Registers the live-event bus with the service registry, so main() starts its
PostgreSQL listener with the other services and stops it at shutdown."""

from __future__ import annotations

from context import AppContext
from services.event_bus import EventBus


def create_service(ctx: AppContext) -> EventBus:
    return ctx.event_bus
