"""Demo staff: admin, manager, cashier, trainee (password123; PINs 1234/2345/3456/4567)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orm.domain import security
from orm.models.model_identity import Role, User
from settings import Settings

DEMO_PASSWORD = "password123"
DEMO_USERS = [
    # username, first, last, role, pin
    ("admin", "Ada", "Admin", "admin", "1234"),
    ("manager", "Max", "Manager", "manager", "2345"),
    ("cashier", "Cara", "Cashier", "cashier", "3456"),
    ("trainee", "Tom", "Trainee", "trainee", "4567"),
]


def ensure_user(session: Session, settings: Settings, username: str, first: str, last: str, role_name: str,
                pin: str | None, password: str, email: str | None = None) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is not None:
        return user
    role = session.scalar(select(Role).where(Role.name == role_name))
    if role is None:
        raise RuntimeError(f"role {role_name} missing: run the migrations first")
    user = User(username=username, first_name=first, last_name=last, email=email or f"{username}@cafepos.local",
                password_hash=security.hash_secret(password, settings.bcrypt_rounds), role_id=role.id,
                pin_hash=security.hash_secret(pin, settings.bcrypt_rounds) if pin else None,
                pin_lookup=security.pin_lookup(pin, settings.pin_pepper) if pin else None)
    session.add(user)
    session.flush()
    return user


def seed_test(session: Session, settings: Settings, **_: object) -> dict[str, int]:
    for username, first, last, role, pin in DEMO_USERS:
        ensure_user(session, settings, username, first, last, role, pin, DEMO_PASSWORD)
    return {"users": session.scalar(select(func.count()).select_from(User)) or 0,
            "roles": session.scalar(select(func.count()).select_from(Role)) or 0}


def seed_production(session: Session, settings: Settings, **_: object) -> dict[str, int]:
    return {"users": session.scalar(select(func.count()).select_from(User)) or 0,
            "roles": session.scalar(select(func.count()).select_from(Role)) or 0}
