"""WS /ws/pickup?token=... [prep.board]: the customer-facing pickup board.

The screen above the counter that tells customers their order is being made or is ready.  It
first sends the board, then the board again whenever it changed - a sale queued tickets, the bar
or kitchen moved one, a refund or void cancelled one - on whichever server process that happened
(the event bus carries the "ticket" events), at most a few times a second:

    {"type": "board", "preparing": ["A-000124", ...], "ready": ["A-000123", ...],
     "firstNames": {"A-000123": "Anna"}}

`preparing` and `ready` are lists of order numbers (API.md); `firstNames` maps an order number to
the first word of the customer's name, for orders that have one.  Nothing else - no items,
prices, last names, staff or tables - ever reaches this screen (orm/controllers/orders/pickup_board.py
says which orders are listed).  The board shows the signed-in user's store.  Close code 4401:
the login ended (reconnect with a fresh token); 4403: the permission was taken away.
"""

from __future__ import annotations

from typing import Any, ClassVar

from apis.live_socket import LiveSocket
from services.pickup_hub import PickupHub

PERMISSION = "prep.board"


class PickupBoardSocket(LiveSocket):
    """The pickup board of the signed-in user's store, live."""

    permissions: ClassVar[dict[str, Any]] = {"GET": PERMISSION}
    skip_repeats: ClassVar[bool] = True  # a board equal to the one on screen is not sent again

    store_id: str = ""

    @property
    def hub(self) -> PickupHub:
        return self.ctx.pickup_hub

    def choose_watch(self) -> None:
        self.store_id = self.principal.store_id

    async def greeting(self) -> dict[str, Any]:
        return await self.hub.board(self.store_id)


default_handlers = [(r"/ws/pickup", PickupBoardSocket)]
