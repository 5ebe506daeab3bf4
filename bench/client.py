"""A tiny synchronous JSON client for seeding and checking (the load itself is wrk's)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:500].decode('utf-8', 'replace')}")
        self.status = status
        self.body = body


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # the API takes money as strings like "3.50"
    raise TypeError(f"cannot encode {type(value).__name__}")


class Api:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def raw(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
            timeout: float = 60.0) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body, default=_default).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """The envelope's `data`; raises ApiError on anything but 2xx."""
        status, _, raw = self.raw(method, path, body, headers)
        if not 200 <= status <= 299:
            raise ApiError(method, path, status, raw)
        return json.loads(raw, parse_float=Decimal)["data"]

    def login(self, username: str, password: str) -> str:
        data = self.call("POST", "/auth/login", {"username": username, "password": password})
        self.token = data["token"]
        return self.token
