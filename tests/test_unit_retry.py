"""RetryUnit: a controller asks its unit of work to roll back and run again (e.g. a sale that lost
to a concurrent twin on PostgreSQL replays the twin on the next run); events of a rolled-back
attempt are never published, and when the attempts run out the controller's final error is raised."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from orm.db import MAX_ATTEMPTS, Event, RetryUnit, events, make_engine, make_session_factory, unit_of_work_events
from orm.domain.errors import Conflict


@pytest.fixture
def factory(settings):
    engine = make_engine(settings.database_url, pooled=False)
    yield make_session_factory(engine)
    engine.dispose()


def test_a_unit_runs_again_and_only_the_last_attempts_events_count(factory) -> None:
    attempts: list[int] = []

    def work(session: Session) -> int:
        attempts.append(1)
        events(session).add(Event("order", None, {"attempt": len(attempts)}))
        if len(attempts) < 3:
            raise RetryUnit("lost a race")
        return int(session.execute(text("SELECT 42")).scalar_one())

    result, raised = unit_of_work_events(factory, work, False, (), {})
    assert result == 42 and len(attempts) == 3
    assert [e.data["attempt"] for e in raised] == [3]


def test_the_final_error_is_raised_when_the_attempts_run_out(factory) -> None:
    attempts: list[int] = []

    def work(session: Session) -> None:
        attempts.append(1)
        raise RetryUnit("lost a race", Conflict("try again"))

    with pytest.raises(Conflict, match="try again"):
        unit_of_work_events(factory, work, False, (), {})
    assert len(attempts) == MAX_ATTEMPTS
