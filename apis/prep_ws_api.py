"""WS /ws/prep?station=bar&token=... [prep.view]: a station's queue, live.

The socket first sends {type: "hello", station, tickets} (the open tickets, oldest first, as
GET /prep/tickets gives them), then {type: "ticket", ticket} whenever a ticket of that station is
created or changes - a sale, a tab's lines sent, a move, a refund or void - from whichever server
process made the change (services/event_bus.py).  A ticket whose lines are all collected or
cancelled is sent once more in that state: the screen drops it.  Without `station` the socket
shows every station.

Authentication, origin checks, the periodic re-check and the 4401 close on a revoked session are
the live dashboard's (apis/dashboard_ws_api.py); one PrepHub per process (services/prep_hub.py)
reads each changed ticket once for all the sockets that show it.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import tornado.websocket

from apis.dashboard_ws_api import DashboardSocket
from orm.domain import jsonenc, security
from orm.domain.errors import DomainError, ValidationFailed

PERMISSION = "prep.view"


class PrepSocket(DashboardSocket):
    """A bar or kitchen screen: the station's open tickets, then every change."""

    permissions: ClassVar[dict[str, Any]] = {"GET": PERMISSION}

    store_id: str = ""
    station: str | None = None
    _tickets: list[dict[str, Any]] | None = None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        self._ready = False
        self._pending = []
        token = self.bearer_token() or ""
        self._token_exp = security.decode_access_token(token, secret=self.ctx.settings.jwt_secret,
                                                       now=self.ctx.clock())["exp"]
        hub = self.ctx.prep_hub
        self.store_id = self.principal.store_id
        station = (self.get_query_argument("station", "") or "").strip() or None
        if station is not None:
            known = (await self.ctx.store_settings.get(self.store_id)).get("stations") or []
            if station not in known:
                message = f"is not one of this store's stations ({', '.join(known)})"
                raise ValidationFailed(f"station {message}", field_errors={"station": message})
        self.station = station
        try:
            # Attach before reading the greeting so no change falls between the two; changes
            # arriving meanwhile wait in _pending until "hello" has gone out.
            await hub.attach(self)
            self._tickets = await hub.open_tickets(self.store_id, station)
        except DomainError:
            hub.detach(self)
            raise
        await tornado.websocket.WebSocketHandler.get(self, *args, **kwargs)
        if self.ws_connection is None:  # the upgrade itself was refused (not a WebSocket request)
            hub.detach(self)

    def open(self, *args: Any, **kwargs: Any) -> None:
        if self._ended:
            self._ready = True
            self.close_ended()
            return
        self._send({"type": "hello", "station": self.station, "tickets": self._tickets or []})
        self._tickets = None
        self._ready = True
        for message in self._pending:
            self._send(message)
        self._pending.clear()
        self._reauth = asyncio.get_running_loop().create_task(self._recheck_token())

    def _send(self, message: dict[str, Any]) -> None:
        try:
            sent = self.write_message(jsonenc.dumps(message))
        except tornado.websocket.WebSocketClosedError:
            self.ctx.prep_hub.detach(self)
            return
        sent.add_done_callback(lambda f: f.cancelled() or f.exception())

    def on_close(self) -> None:
        self.ctx.prep_hub.detach(self)
        task = getattr(self, "_reauth", None)
        if task is not None:
            task.cancel()


default_handlers = [(r"/ws/prep", PrepSocket)]
