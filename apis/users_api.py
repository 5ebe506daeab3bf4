"""Staff accounts: /users, their roles and per-user permission overrides."""

from __future__ import annotations

import asyncio

from apis.base import AUTHENTICATED, BaseHandler, page_from_query
from orm.controllers.identity import roles, users
from orm.controllers.identity.users import HashedSecrets
from orm.domain import security
from orm.domain.errors import PermissionDenied, ValidationFailed
from orm.domain.schemas.identity import PermissionOverrides, RoleAssignment, UserCreate, UserUpdate

USER_ID = r"(?P<user_id>[^/]+)"
TRUE_WORDS, FALSE_WORDS = {"true", "1", "yes"}, {"false", "0", "no"}


def bool_query(handler: BaseHandler, name: str) -> bool | None:
    raw = handler.get_query_argument(name, None)
    if raw is None or raw == "":
        return None
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise ValidationFailed(f"{name} must be true or false", field_errors={name: "must be true or false"})


class UserBase(BaseHandler):
    async def hash_secrets(self, password: str | None, pin: str | None) -> HashedSecrets:
        """bcrypt off the IOLoop (both at once when both change); the PIN also gets its lookup key."""
        rounds = self.ctx.settings.bcrypt_rounds

        async def maybe_hash(secret: str | None) -> str | None:
            return None if secret is None else await self.run_blocking(security.hash_secret, secret, rounds)

        password_hash, pin_hash = await asyncio.gather(maybe_hash(password), maybe_hash(pin))
        lookup = security.pin_lookup(pin, self.ctx.settings.pin_pepper) if pin is not None else None
        return HashedSecrets(password_hash=password_hash, pin_hash=pin_hash, pin_lookup=lookup)


class UsersHandler(UserBase):
    """List and create staff accounts."""

    permissions = {"GET": "users.view", "POST": "users.create"}
    api_doc = {
        "get": {"summary": "List users", "query": {
            "role": {"type": "string", "description": "role name or id"},
            "active": {"type": "boolean"}, "search": {"type": "string"},
            "storeId": {"type": "string", "description": "only the users of this store"},
            "page": {"type": "integer"}, "perPage": {"type": "integer"}}},
        "post": {"summary": "Create a user", "body": UserCreate, "creates": True},
    }

    async def get(self) -> None:
        page = page_from_query(self)
        search = (self.get_query_argument("search", "") or "").strip()[:100] or None
        data = await self.run_db(users.list_users, page, role=self.get_query_argument("role", None) or None,
                                 active=bool_query(self, "active"), search=search,
                                 store_id=(self.get_query_argument("storeId", "") or "").strip()[:36] or None)
        self.success(data)

    async def post(self) -> None:
        body = self.parse(UserCreate)
        if body.pin is not None:
            self.require("users.edit")  # before hashing: refusals cost no bcrypt
        secrets = await self.hash_secrets(body.password, body.pin)
        user = await self.run_db(users.create, body, secrets, actor=self.principal, now=self.ctx.clock())
        self.created({"user": user}, location=f"/users/{user['id']}")


class UserRolesHandler(BaseHandler):
    """Roles a user can be given (for pickers): the whole list."""

    permissions = {"GET": "users.view"}
    api_doc = {"get": {"summary": "Roles available for users"}}

    async def get(self) -> None:
        self.success(await self.run_db(roles.list_roles, page_from_query(self, whole_by_default=True)))


class UserHandler(UserBase):
    """One user: read (users.view or self), edit (users.edit, or self for name/e-mail/password/PIN), delete."""

    permissions = {"GET": AUTHENTICATED, "PUT": AUTHENTICATED, "DELETE": "users.delete"}
    api_doc = {
        "get": {"summary": "A user (users.view, or yourself)"},
        "put": {"summary": "Edit a user (partial)", "body": UserUpdate,
                "description": "users.edit, or yourself for firstName/lastName/email/password/pin; changing your "
                               "own password needs currentPassword; another user's password needs "
                               "users.reset_password."},
        "delete": {"summary": "Deactivate a user (soft delete; sessions revoked)"},
    }

    async def get(self, user_id: str) -> None:
        user = await self.run_db(users.get, user_id, self.principal)
        self.success({"user": user})

    async def put(self, user_id: str) -> None:
        body = self.parse(UserUpdate)
        is_self = user_id == self.principal.user_id
        if not is_self and not self.principal.has("users.edit"):
            raise PermissionDenied("Missing permission: users.edit")
        current_ok = False
        if is_self and body.password is not None:
            current_ok = await self._check_current_password(user_id, body.currentPassword)
        secrets = await self.hash_secrets(body.password, body.pin if body.changes_pin else None)
        user = await self.run_db(users.update, user_id, body, secrets, actor=self.principal,
                                 now=self.ctx.clock(), current_password_ok=current_ok)
        self.success({"user": user})

    async def _check_current_password(self, user_id: str, current: str | None) -> bool:
        if not current:
            raise ValidationFailed("Your current password is needed to change it",
                                   field_errors={"currentPassword": "is required to change your password"})
        stored = await self.run_db(users.password_hash_of, user_id)
        if not await self.run_blocking(security.check_secret, current, stored):
            raise ValidationFailed("Your current password is incorrect",
                                   field_errors={"currentPassword": "is incorrect"})
        return True

    async def delete(self, user_id: str) -> None:
        user = await self.run_db(users.set_active, user_id, False, actor=self.principal,
                                 now=self.ctx.clock(), action="delete")
        self.success({"user": user}, message="User deactivated")


class ActivateUserHandler(BaseHandler):
    """Let a deactivated user sign in again."""

    permissions = {"PATCH": "users.edit"}
    active = True
    api_doc = {"patch": {"summary": "Activate a user"}}

    async def patch(self, user_id: str) -> None:
        user = await self.run_db(users.set_active, user_id, self.active, actor=self.principal,
                                 now=self.ctx.clock())
        self.success({"user": user})


class DeactivateUserHandler(ActivateUserHandler):
    """Stop a user signing in; their sessions end at once."""

    active = False
    api_doc = {"patch": {"summary": "Deactivate a user (sessions revoked)"}}


class UserRoleHandler(BaseHandler):
    """Give a user another role."""

    permissions = {"PUT": "users.edit"}
    api_doc = {"put": {"summary": "Change a user's role", "body": RoleAssignment}}

    async def put(self, user_id: str) -> None:
        body = self.parse(RoleAssignment)
        user = await self.run_db(users.set_role, user_id, body, actor=self.principal, now=self.ctx.clock())
        self.success({"user": user})


class UserPermissionsHandler(BaseHandler):
    """Per-user grants and revokes on top of the role."""

    permissions = {"GET": "users.edit", "PUT": "users.edit"}
    api_doc = {
        "get": {"summary": "A user's role permissions, grants, revokes and effective permissions"},
        "put": {"summary": "Set a user's grants and/or revokes (a list sent replaces the stored one)",
                "body": PermissionOverrides},
    }

    async def get(self, user_id: str) -> None:
        self.success(await self.run_db(users.get_permissions, user_id))

    async def put(self, user_id: str) -> None:
        body = self.parse(PermissionOverrides)
        self.success(await self.run_db(users.set_permissions, user_id, body, actor=self.principal,
                                       now=self.ctx.clock()))


default_handlers = [
    (r"/users", UsersHandler),
    (r"/users/roles", UserRolesHandler),  # before /users/{id}, which would match "roles"
    (rf"/users/{USER_ID}", UserHandler),
    (rf"/users/{USER_ID}/activate", ActivateUserHandler),
    (rf"/users/{USER_ID}/deactivate", DeactivateUserHandler),
    (rf"/users/{USER_ID}/role", UserRoleHandler),
    (rf"/users/{USER_ID}/permissions", UserPermissionsHandler),
]
