"""`python main.py create-admin`: the first admin of a real deployment (seed_production_data.py makes none).

    python main.py create-admin --username boss                      # prompts for the password twice
    printf '%s\\n' "$PASSWORD" | python main.py create-admin --username boss --password-stdin --pin 4821
    python main.py create-admin --username boss --reset-password     # forgotten password / reactivate

Same database settings as the server (DATABASE_URL, .env), same rules as POST /users (password at
least 8 characters, username, e-mail, 4-6 digit PIN unique among active staff), bcrypt with
BCRYPT_ROUNDS, PINs peppered like the server's, one audit row.  Migrates an old schema first when
AUTO_MIGRATE=true, otherwise refuses and names the command.  Running it again is harmless.

Exit codes: 0 created / already there / reset; 1 refused (weak password, taken name or PIN, a
non-admin of that name); 2 usage or configuration error; 3 schema out of date (AUTO_MIGRATE=false).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from pydantic import ValidationError

from orm.column_types import utcnow
from orm.controllers.identity.admin_account import ensure_admin
from orm.controllers.identity.server_secrets import load_or_create
from orm.controllers.identity.users import HashedSecrets
from orm.db import make_engine, make_session_factory, unit_of_work, unit_of_work_events
from orm.domain import security
from orm.domain.errors import DomainError
from orm.domain.schemas.identity import UserCreate
from orm.migrate import SchemaOutOfDate, ensure_schema
from services.event_bus import notify_from_command
from settings import SettingsError, load_settings


class Refused(Exception):
    """A clear, expected refusal (exit 1)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python main.py create-admin",
                                description="Create the first admin (idempotent; audited).")
    p.add_argument("--username", required=True, help="2-64 letters, digits, . _ @ -")
    p.add_argument("--pin", help="4-6 digits for PIN login on terminals (optional)")
    p.add_argument("--email", help="for password-reset e-mails (default NAME@cafepos.local)")
    p.add_argument("--first-name", default="Admin")
    p.add_argument("--last-name", default="")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input (no prompt)")
    p.add_argument("--reset-password", action="store_true",
                   help="the admin exists: set this password (and PIN), reactivate, end its logins")
    return p


def read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        line = stdin.readline()
        if not line:
            raise Refused("--password-stdin: standard input is empty")
        return line.rstrip("\r\n")
    if not stdin.isatty():
        raise Refused("no terminal to prompt for the password: pipe it in with --password-stdin")
    first = getpass.getpass("Password for the new admin: ")
    if first != getpass.getpass("Repeat the password: "):
        raise Refused("the two passwords differ")
    return first


def validated(args: argparse.Namespace, password: str) -> UserCreate:
    """The same checks as POST /users; every problem named, no secret echoed."""
    try:
        return UserCreate(username=args.username, password=password, firstName=args.first_name,
                          lastName=args.last_name, email=args.email or f"{args.username}@cafepos.local",
                          role="admin", pin=args.pin)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg'].removeprefix('Value error, ')}"
                             for e in exc.errors())
        raise Refused(f"refused: {problems}") from None


def create_admin(args: argparse.Namespace, stdin: TextIO) -> str:
    settings = load_settings()
    body = validated(args, read_password(args, stdin))
    ensure_schema(settings.database_url, auto_migrate=settings.auto_migrate)
    engine = make_engine(settings.database_url, pooled=False)
    try:
        factory = make_session_factory(engine)
        hashed = HashedSecrets(password_hash=security.hash_secret(body.password, settings.bcrypt_rounds))
        if body.pin is not None:
            # The server's pepper: PIN_PEPPER, else the one it keeps in the database.
            pepper = settings.pin_pepper or unit_of_work(factory, load_or_create, ["pin_pepper"])["pin_pepper"]
            hashed = HashedSecrets(hashed.password_hash, security.hash_secret(body.pin, settings.bcrypt_rounds),
                                   security.pin_lookup(body.pin, pepper))
        now = utcnow()
        outcome, raised = unit_of_work_events(factory, ensure_admin, False, (body, hashed),
                                              {"reset_password": args.reset_password, "now": now})
        notify_from_command(engine, raised, now)  # running servers drop the logins it ended
    finally:
        engine.dispose()
    return outcome.message


def run(argv: list[str], *, stdin: TextIO | None = None, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)  # exits 2 on bad usage
    try:
        print(create_admin(args, stdin), file=stdout)
        return 0
    except (Refused, DomainError) as exc:
        print(f"create-admin: {exc}", file=stderr)
        return 1
    except SettingsError as exc:
        print(f"create-admin: configuration error: {exc}", file=stderr)
        return 2
    except SchemaOutOfDate as exc:
        print(f"create-admin: {exc}", file=stderr)
        return 3
