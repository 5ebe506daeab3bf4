"""`python main.py create-admin` in a real subprocess, against the test database (SQLite or PostgreSQL),
then the running server: the new admin logs in with password and PIN, and the audit trail shows it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from orm.db import make_engine, make_session_factory, unit_of_work
from orm.domain import security
from orm.models.model_identity import AuditChange, ServerSecret, User
from tests.conftest import TEST_JWT_SECRET, run_unit

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"


def create_admin(settings, *args: str, stdin: str | None = None, database_url: str | None = None,
                 **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "CI")}
    env.update(DATABASE_URL=database_url or settings.database_url, JWT_SECRET=TEST_JWT_SECRET,
               PIN_PEPPER=settings.pin_pepper, BCRYPT_ROUNDS="4", DEBUG="true", SEED_DEMO_DATA="false",
               UPLOADS_DIR=str(settings.uploads_dir))
    env.update(env_extra)
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "create-admin", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120)


def count_users(settings, username: str) -> int:
    return run_unit(settings, lambda s: s.scalar(select(func.count()).select_from(User)
                                                  .where(User.username == username)))


async def login(client, **body) -> tuple[int, dict]:
    resp = await client.post("/auth/login", body)
    return resp.status, resp.json


async def test_create_admin_logs_in_is_audited_and_idempotent(settings, server, client):
    done = create_admin(settings, "--username", "boss", "--pin", "4821", "--email", "boss@example.com",
                        "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "Created admin 'boss'" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr

    status, body = await login(client, username="boss", password=PASSWORD)
    assert status == 200, body
    token = body["data"]["token"]
    assert body["data"]["user"]["role"] == "admin"
    status, body = await login(client, pinCode="4821")
    assert status == 200 and body["data"]["user"]["username"] == "boss"

    client.token = token
    changes = (await client.get("/audit/changes?entity=user&action=create")).data
    rows = [c for c in changes["changes"] if c["newValues"]["username"] == "boss"]
    assert len(rows) == 1
    assert rows[0]["actorName"] == "command line: main.py create-admin" and rows[0]["actorId"] is None
    assert rows[0]["newValues"]["role"] == "admin" and rows[0]["newValues"]["hasPin"] is True
    assert "password" not in str(rows[0]).lower().replace("haspin", "")

    # Again, even with another password: nothing changes, exit 0.
    again = create_admin(settings, "--username", "boss", "--password-stdin", stdin="another password\n")
    assert again.returncode == 0, again.stderr
    assert "already exists and is an active admin; nothing changed" in again.stdout
    assert count_users(settings, "boss") == 1
    assert (await login(client, username="boss", password=PASSWORD))[0] == 200
    assert (await login(client, username="boss", password="another password"))[0] == 401

    # --reset-password: the new one works, the old one and the old logins do not; audited.
    reset = create_admin(settings, "--username", "boss", "--password-stdin", "--reset-password",
                         stdin="a brand new secret\n")
    assert reset.returncode == 0, reset.stderr
    assert "Reset the password of admin 'boss'" in reset.stdout
    assert (await client.get("/auth/me")).status == 401
    assert (await login(client, username="boss", password=PASSWORD))[0] == 401
    status, body = await login(client, username="boss", password="a brand new secret")
    assert status == 200
    client.token = body["data"]["token"]
    updates = (await client.get("/audit/changes?entity=user&action=update")).data["changes"]
    assert updates[0]["newValues"] == {"passwordChanged": True}
    assert updates[0]["actorName"] == "command line: main.py create-admin"


def test_create_admin_refuses_weak_password_and_bad_input(settings, monkeypatch):
    """Refusals come before any database work: checked in-process through the same entry point."""
    from admin_cli import run

    for name, value in (("DATABASE_URL", settings.database_url), ("JWT_SECRET", TEST_JWT_SECRET),
                        ("PIN_PEPPER", settings.pin_pepper), ("BCRYPT_ROUNDS", "4")):
        monkeypatch.setenv(name, value)
    cases = [
        (("--username", "boss"), "short\n", "password: must be at least 8 characters"),
        (("--username", "boss"), " " * 10 + "\n", "password: must not be blank"),
        (("--username", "boss"), "", "standard input is empty"),
        (("--username", "b"), PASSWORD + "\n", "username: must be 2-64 letters"),
        (("--username", "boss", "--pin", "12a4"), PASSWORD + "\n", "pin: must be 4 to 6 digits"),
        (("--username", "boss", "--email", "not-an-address"), PASSWORD + "\n", "email: is not a valid e-mail"),
    ]
    for args, stdin, message in cases:
        out, err = io.StringIO(), io.StringIO()
        code = run([*args, "--password-stdin"], stdin=io.StringIO(stdin), stdout=out, stderr=err)
        assert code == 1, (args, out.getvalue(), err.getvalue())
        assert message in err.getvalue(), (args, err.getvalue())
        assert stdin.strip() not in err.getvalue() or not stdin.strip()  # the password is never echoed
    assert count_users(settings, "boss") == 0 and count_users(settings, "b") == 0

    # No terminal and no --password-stdin: no prompt that would hang, a clear way out.
    err = io.StringIO()
    assert run(["--username", "boss"], stdin=io.StringIO(PASSWORD + "\n"), stderr=err) == 1
    assert "--password-stdin" in err.getvalue()
    usage = create_admin(settings, stdin="")  # a real process: argparse's exit code
    assert usage.returncode == 2 and "--username" in usage.stderr


async def test_create_admin_refuses_taken_pin_and_non_admin_name(settings, demo_users):
    cashier_before = run_unit(settings, lambda s: s.scalar(select(User.password_hash)
                                                            .where(User.username == "cashier")))
    taken_pin = create_admin(settings, "--username", "boss", "--pin", "1234", "--password-stdin",
                             stdin=PASSWORD + "\n")  # the demo admin's PIN
    assert taken_pin.returncode == 1 and "PIN is already in use" in taken_pin.stderr
    assert count_users(settings, "boss") == 0

    for extra in ((), ("--reset-password",)):
        cashier = create_admin(settings, "--username", "cashier", *extra, "--password-stdin", stdin=PASSWORD + "\n")
        assert cashier.returncode == 1 and "exists with the role 'cashier'" in cashier.stderr
    after = run_unit(settings, lambda s: (s.scalar(select(User.password_hash).where(User.username == "cashier")),
                                          s.scalar(select(func.count()).select_from(AuditChange))))
    assert after == (cashier_before, 0)


def test_create_admin_migrates_an_empty_database_or_names_the_command(settings, empty_database):
    url = empty_database
    refused = create_admin(settings, "--username", "boss", "--password-stdin", stdin=PASSWORD + "\n",
                           database_url=url, AUTO_MIGRATE="false")
    assert refused.returncode == 3 and "python orm/db_init.py" in refused.stderr
    done = create_admin(settings, "--username", "boss", "--pin", "4821", "--password-stdin",
                        stdin=PASSWORD + "\n", database_url=url, AUTO_MIGRATE="true", PIN_PEPPER="")
    assert done.returncode == 0, done.stderr
    assert "Created admin 'boss'" in done.stdout
    # No PIN_PEPPER configured: the PIN is peppered with the one the server keeps in the database.
    engine = make_engine(url, pooled=False)
    try:
        pepper, lookup = unit_of_work(make_session_factory(engine), lambda s: (
            s.get(ServerSecret, "pin_pepper").value, s.scalar(select(User.pin_lookup))))
    finally:
        engine.dispose()
    assert lookup == security.pin_lookup("4821", pepper)
