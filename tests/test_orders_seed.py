"""orm/seed/orders.py: demo trade through the real controllers, idempotent, journal intact."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orm.controllers.orders import journal
from orm.models.model_orders import Order, Refund, Shift
from orm.seed import identity, inventory, menu, orders
from settings import Settings
from tests.conftest import run_unit
from tests.support import suite_now


def _seed_all(session: Session, settings: Settings) -> dict[str, int]:
    for area in (identity, inventory, menu):
        area.seed_test(session, settings, now=suite_now())
    return orders.seed_test(session, settings, days=3, now=suite_now())


def _facts(session: Session) -> dict[str, object]:
    numbers = list(session.scalars(select(Order.receipt_number).order_by(Order.receipt_number)))
    return {
        "numbers": numbers,
        "refunds": session.scalar(select(func.count()).select_from(Refund)),
        "closed": session.scalar(select(func.count()).select_from(Shift).where(Shift.status == "closed")),
        "shifts": session.scalar(select(func.count()).select_from(Shift)),
        "paid": sorted(set(session.scalars(select(Order.payment_method)))),
        "types": sorted(set(session.scalars(select(Order.order_type)))),
        "chain": journal.verify(session),
    }


def test_seed_sells_through_the_controllers_and_is_idempotent(settings: Settings) -> None:
    counts = run_unit(settings, _seed_all, settings)
    assert counts["orders"] > 40 and counts["shifts"] >= 2
    facts = run_unit(settings, _facts)
    assert facts["numbers"] == list(range(1, counts["orders"] + 1))
    assert facts["closed"] >= facts["shifts"] - 1  # today's shift may still be open
    assert facts["paid"] == ["card", "cash", "split"] and facts["types"] == ["eat_in", "take_away"]
    assert facts["chain"]["valid"] is True
    assert facts["chain"]["count"] == counts["journal_entries"] >= counts["orders"]
    again = run_unit(settings, orders.seed_test, settings)
    assert again == counts


def test_production_seed_sells_nothing(settings: Settings) -> None:
    assert run_unit(settings, orders.seed_production, settings) == {"orders": 0, "refunds": 0, "shifts": 0,
                                                                   "journal_entries": 0, "stock_movements": 0}


def _prep_states(session: Session) -> dict[str | None, int]:
    from orm.models.model_orders import OrderItem

    return dict(session.execute(select(OrderItem.prep_status, func.count()).where(OrderItem.station.is_not(None))
                                .group_by(OrderItem.prep_status)).tuples().all())


def test_seeded_tickets_are_history_but_the_last_minutes(settings: Settings) -> None:
    """Coffee, tea and cold drinks go to the bar, food to the kitchen, pastries nowhere; the sales'
    ticket lines end collected (or cancelled by a void or refund), but for the last three orders
    (queued, being made, ready) so a fresh demo shows a live queue."""
    run_unit(settings, _seed_all, settings)
    states = run_unit(settings, _prep_states)
    assert states.get("collected", 0) > 40 and None not in states
    assert set(states) <= {"collected", "cancelled", "queued", "in_progress", "ready"}
    assert states.get("queued", 0) and states.get("in_progress", 0) and states.get("ready", 0)
    from sqlalchemy import text

    stations = dict(run_unit(settings, lambda s: s.execute(text(
        "SELECT name, station FROM menu_categories")).tuples().all()))
    assert stations == {"Coffee": "bar", "Tea": "bar", "Food": "kitchen", "Pastries": None}
