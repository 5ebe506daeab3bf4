"""orm/db.py with psycopg 3: every PostgreSQL URL form maps to it, and its SQLSTATEs drive the retries."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from orm.db import make_engine, make_session_factory, normalise_url, pg_error_code, unit_of_work
from settings import load_settings, validate


@pytest.mark.parametrize("url", [
    "postgresql://u:p@db:5432/cafepos",
    "postgres://u:p@db:5432/cafepos",
    "postgresql+psycopg2://u:p@db:5432/cafepos",
    "postgresql+psycopg://u:p@db:5432/cafepos",
])
def test_every_postgresql_url_form_means_psycopg_3(url):
    assert normalise_url(url) == "postgresql+psycopg://u:p@db:5432/cafepos"


def test_sqlite_urls_are_left_alone():
    assert normalise_url("sqlite:///cafepos.db") == "sqlite:///cafepos.db"


def test_settings_accept_the_postgres_scheme_that_hosting_platforms_hand_out():
    validate(load_settings(database_url="postgres://cafepos:secret@db:5432/cafepos", jwt_secret="x" * 32))


@pytest.fixture
def pg_engine(settings):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (set TEST_DATABASE_URL)")
    engine = make_engine(settings.database_url, pooled=False)
    yield engine
    engine.dispose()


def _raise_once(code: str, attempts: list[int]):
    def fn(session: Session) -> int:
        attempts.append(1)
        if len(attempts) == 1:
            # A real error from the server with this SQLSTATE, as a conflicting transaction would get.
            session.execute(text(f"DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '{code}'; END $$"))
        return session.execute(text("SELECT 42")).scalar_one()
    return fn


def test_the_driver_is_psycopg_3(pg_engine):
    assert pg_engine.dialect.driver == "psycopg"
    with pg_engine.connect() as conn:
        assert type(conn.connection.dbapi_connection).__module__.startswith("psycopg")


@pytest.mark.parametrize("code", ["40001", "40P01"])
def test_serialization_failures_and_deadlocks_are_retried(pg_engine, code):
    attempts: list[int] = []
    assert unit_of_work(make_session_factory(pg_engine), _raise_once(code, attempts)) == 42
    assert len(attempts) == 2


def test_other_errors_are_not_retried_and_keep_their_sqlstate(pg_engine):
    attempts: list[int] = []
    with pytest.raises(DBAPIError) as info:
        unit_of_work(make_session_factory(pg_engine), _raise_once("23505", attempts))
    assert len(attempts) == 1 and pg_error_code(info.value) == "23505"
