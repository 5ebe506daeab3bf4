"""Registers the live-event bus with the service registry, so main() starts its
PostgreSQL listener with the other services and stops it at shutdown."""

from __future__ import annotations

from typing import Any

from services.event_bus import EventBus, event_bus_for


def create_service(ctx: Any) -> EventBus:
    return event_bus_for(ctx)
