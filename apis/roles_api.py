"""Roles (/roles) and the permission catalogue (/permissions)."""

from __future__ import annotations

from apis.base import BaseHandler, page_from_query
from orm.controllers.identity import roles
from orm.domain.schemas.identity import RoleCreate, RoleUpdate


class RolesHandler(BaseHandler):
    """List and create roles."""

    permissions = {"GET": "users.view", "POST": "roles.manage"}
    api_doc = {
        "get": {"summary": "List roles", "query": {"page": {"type": "integer"}, "perPage": {"type": "integer"}}},
        "post": {"summary": "Create a role", "body": RoleCreate, "creates": True},
    }

    async def get(self) -> None:
        self.success(await self.run_db(roles.list_roles, page_from_query(self)))

    async def post(self) -> None:
        body = self.parse(RoleCreate)
        role = await self.run_db(roles.create, body, actor=self.principal, now=self.ctx.clock())
        self.created({"role": role}, location=f"/roles/{role['id']}")


class RoleHandler(BaseHandler):
    """One role; built-in roles can be edited but not deleted, roles in use cannot be deleted."""

    permissions = {"GET": "users.view", "PUT": "roles.manage", "DELETE": "roles.manage"}
    api_doc = {
        "get": {"summary": "A role"},
        "put": {"summary": "Edit a role (partial; permissions sent replace the role's)", "body": RoleUpdate},
        "delete": {"summary": "Delete a custom role nobody holds"},
    }

    async def get(self, role_id: str) -> None:
        self.success({"role": await self.run_db(roles.get, role_id)})

    async def put(self, role_id: str) -> None:
        body = self.parse(RoleUpdate)
        role = await self.run_db(roles.update, role_id, body, actor=self.principal, now=self.ctx.clock())
        self.success({"role": role})

    async def delete(self, role_id: str) -> None:
        role = await self.run_db(roles.delete, role_id, actor=self.principal, now=self.ctx.clock())
        self.success({"role": role}, message="Role deleted")


class PermissionsHandler(BaseHandler):
    """Every permission there is."""

    permissions = {"GET": "users.view"}
    api_doc = {"get": {"summary": "The permission catalogue → {permissions[{name, description, category}]}"}}

    async def get(self) -> None:
        self.success(await self.run_db(roles.permissions_catalogue))


class RolePermissionsHandler(BaseHandler):
    """A role's permissions, by role name or id."""

    permissions = {"GET": "users.view"}
    api_doc = {"get": {"summary": "Permissions of a role (name or id) → {role, roleId, permissions[]}"}}

    async def get(self, role: str) -> None:
        self.success(await self.run_db(roles.permissions_of_role, role))


default_handlers = [
    (r"/roles", RolesHandler),
    (r"/roles/(?P<role_id>[^/]+)", RoleHandler),
    (r"/permissions", PermissionsHandler),
    (r"/permissions/role/(?P<role>[^/]+)", RolePermissionsHandler),
]
