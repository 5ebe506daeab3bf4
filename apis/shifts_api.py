"""Cash-drawer shifts: open, current, paid in/out, X report, close (Z report), history."""

from __future__ import annotations

from apis.base import BaseHandler, page_from_query
from orm.controllers.orders import shifts
from orm.domain.errors import ValidationFailed
from orm.domain.schemas.orders import ShiftCashIn, ShiftClose, ShiftOpen

SHIFT_ID = r"(?P<shift_id>[^/]+)"
SHIFT_STATUSES = ("open", "closed")


class ShiftOpenHandler(BaseHandler):
    """Open the signed-in user's shift with the float in the drawer."""

    permissions = {"POST": "shifts.open_close"}
    api_doc = {"post": {"summary": "Open a shift (one open shift per user)", "body": ShiftOpen, "creates": True,
                        "tags": ["shifts"]}}

    async def post(self) -> None:
        body = self.parse(ShiftOpen)
        shift = await self.run_db(shifts.open_shift, body, actor=self.principal, now=self.ctx.clock())
        self.created({"shift": shift}, location=f"/shifts/{shift['id']}")


class ShiftCurrentHandler(BaseHandler):
    """The signed-in user's open shift, or {shift: null} (200) when none is open."""

    permissions = {"GET": "shifts.open_close"}
    api_doc = {"get": {"summary": "My open shift ({shift: null} when none is open)", "tags": ["shifts"]}}

    async def get(self) -> None:
        self.success({"shift": await self.run_db(shifts.current, actor=self.principal)})


class ShiftHandler(BaseHandler):
    """One shift with its running or final figures (owner or manager)."""

    permissions = {"GET": "shifts.open_close"}
    api_doc = {"get": {"summary": "One shift (owner or a manager)", "tags": ["shifts"]}}

    async def get(self, shift_id: str) -> None:
        self.success({"shift": await self.run_db(shifts.report, shift_id, actor=self.principal)})


class ShiftReportHandler(ShiftHandler):
    """X report: the open shift's running totals (or the closed shift's Z report)."""

    api_doc = {"get": {"summary": "X report: running totals of a shift (owner or a manager)", "tags": ["shifts"]}}


class ShiftCashHandler(BaseHandler):
    """Paid in / paid out of the drawer."""

    permissions = {"POST": "shifts.open_close"}
    api_doc = {"post": {"summary": "Record cash paid into or out of the drawer", "body": ShiftCashIn,
                        "tags": ["shifts"]}}

    async def post(self, shift_id: str) -> None:
        body = self.parse(ShiftCashIn)
        data = await self.run_db(shifts.cash_movement, shift_id, body, actor=self.principal,
                                 now=self.ctx.clock())
        self.success(data)


class ShiftCloseHandler(BaseHandler):
    """Close with the counted cash: expected cash, variance and totals (Z report)."""

    permissions = {"POST": "shifts.open_close"}
    api_doc = {"post": {"summary": "Close a shift (Z report: expectedCash, countedCash, variance, totals)",
                        "body": ShiftClose, "tags": ["shifts"]}}

    async def post(self, shift_id: str) -> None:
        body = self.parse(ShiftClose)
        shift = await self.run_db(shifts.close, shift_id, body, actor=self.principal, now=self.ctx.clock())
        self.success({"shift": shift})


class ShiftsHandler(BaseHandler):
    """Shift history, newest first (list key: shifts)."""

    permissions = {"GET": "reports.view"}
    api_doc = {"get": {"summary": "Shift history (list key: shifts)", "tags": ["shifts"],
                       "query": {"status": {"type": "string", "enum": list(SHIFT_STATUSES)},
                                 "userId": {"type": "string"}, "page": {"type": "integer"},
                                 "perPage": {"type": "integer"}}}}

    async def get(self) -> None:
        page = page_from_query(self)
        status = self.get_query_argument("status", None) or None
        if status is not None and status not in SHIFT_STATUSES:
            raise ValidationFailed("status must be open or closed", field_errors={"status": "must be open or closed"})
        data = await self.run_db(shifts.list_shifts, page, store_id=self.principal.store_id, status=status,
                                 user_id=self.get_query_argument("userId", None) or None)
        self.success(data)


default_handlers = [
    (r"/shifts", ShiftsHandler),
    (r"/shifts/open", ShiftOpenHandler),
    (r"/shifts/current", ShiftCurrentHandler),
    (rf"/shifts/{SHIFT_ID}", ShiftHandler),
    (rf"/shifts/{SHIFT_ID}/report", ShiftReportHandler),
    (rf"/shifts/{SHIFT_ID}/cash", ShiftCashHandler),
    (rf"/shifts/{SHIFT_ID}/close", ShiftCloseHandler),
]
