"""Every permission and the built-in roles' defaults (API.md, "Roles and permissions")."""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "menu.view": "See the menu",
    "menu.create": "Add menu items",
    "menu.edit": "Edit menu items, images and categories",
    "menu.delete": "Delete menu items",
    "menu.import": "Bulk-import the menu from CSV",
    "inventory.view": "See stock levels and alerts",
    "inventory.edit": "Edit inventory items and alerts",
    "inventory.adjust_stock": "Adjust stock levels",
    "inventory.export": "Export inventory as CSV",
    "inventory.view_costs": "See cost prices",
    "sales.process": "Ring up orders",
    "sales.apply_discount": "Apply discounts",
    "sales.view_history": "See past orders",
    "sales.refund": "Refund orders",
    "sales.override_price": "Override prices",
    "sales.void": "Void orders",
    "roles.manage": "Create, edit and delete roles",
    "receipts.print": "Print receipts",
    "receipts.reprint": "Reprint receipts",
    "receipts.email": "E-mail receipts",
    "reports.view": "See dashboards and reports",
    "reports.export": "Export reports",
    "reports.financial": "See financial reports",
    "reports.send_email": "Send report e-mails",
    "shifts.open_close": "Open and close cash-drawer shifts",
    "users.view": "See users and roles",
    "users.edit": "Edit users",
    "users.create": "Create users",
    "users.delete": "Deactivate users",
    "users.reset_password": "Reset other users' passwords",
    "system.settings": "Change store settings",
    "system.logs": "Read audit logs and metrics",
    "system.backup": "Run backups",
    "system.maintenance": "Run maintenance tasks",
    "prep.view": "See the bar and kitchen tickets",
    "prep.update": "Move tickets (start, ready, recall, collected)",
    "prep.board": "Show the customer-facing pickup board (order numbers and first names)",
}

_CASHIER = {
    "menu.view", "inventory.view", "sales.process", "sales.apply_discount", "sales.view_history",
    "receipts.print", "receipts.reprint", "reports.view", "shifts.open_close", "prep.view", "prep.update",
}
_TRAINEE = {"menu.view", "inventory.view", "sales.process", "receipts.print"}
_MANAGER = _CASHIER | {
    "menu.create", "menu.edit", "menu.delete", "menu.import",
    "inventory.edit", "inventory.adjust_stock", "inventory.export", "inventory.view_costs",
    "sales.refund", "sales.override_price", "sales.void", "receipts.email",
    "reports.export", "reports.financial", "reports.send_email",
    "users.view", "users.edit", "system.settings", "prep.board",
}
_BARISTA = {"prep.view", "prep.update", "menu.view", "inventory.view"}
_DISPLAY = {"prep.board"}

BUILTIN_ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "admin": ("Full access", frozenset(PERMISSIONS)),
    "manager": ("Runs the café: menu, stock, refunds, reports, staff", frozenset(_MANAGER)),
    "cashier": ("Takes orders and payments", frozenset(_CASHIER)),
    "trainee": ("Takes orders under supervision", frozenset(_TRAINEE)),
    "barista": ("Makes the drinks and food: the bar and kitchen tickets", frozenset(_BARISTA)),
    "display": ("A customer-facing pickup screen", frozenset(_DISPLAY)),
}
ROLE_IDS = {
    "admin": "00000000-0000-0000-0000-00000000a001",
    "manager": "00000000-0000-0000-0000-00000000a002",
    "cashier": "00000000-0000-0000-0000-00000000a003",
    "trainee": "00000000-0000-0000-0000-00000000a004",
    "barista": "00000000-0000-0000-0000-00000000a005",
    "display": "00000000-0000-0000-0000-00000000a006",
}
