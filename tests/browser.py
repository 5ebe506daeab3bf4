"""A real headless Chromium driven over the DevTools protocol (no extra package: Tornado's websocket).

`chromium_or_skip()` finds the browser; without it a test skips, except in CI (CI=true) where a
missing browser is a failure (`.ci/run` installs the Debian package `chromium`).

    async with Browser.launch(path) as page:
        await page.goto(url)
        await page.wait_for("document.querySelectorAll('.opblock').length > 0")
        await page.click(".btn.authorize")
        await page.type_into("input", "text")

Waits are conditions checked inside the page (no sleeps); `LIMIT_S` only bounds a hung browser.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import tempfile
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.websocket import websocket_connect

LIMIT_S = 60.0
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-allow-origins=*")


def chromium_or_skip() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed; CI must install it (.ci/run: apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")


class Page:
    """One page target: evaluate JavaScript, click, type, wait for a condition."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0

    async def send(self, method: str, **params: Any) -> dict:
        self.next_id += 1
        msg_id = self.next_id
        await self.ws.write_message(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:  # events arrive in between; only our answer counts
            raw = await self.ws.read_message()
            if raw is None:
                raise RuntimeError("the browser closed the DevTools connection")
            msg = json.loads(raw)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    async def eval(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, condition: str, what: str = "") -> Any:
        """Resolve once `condition` (a JS expression) is truthy, re-checked on every animation frame."""
        script = ("new Promise(done => { const check = () => { const v = (" + condition + ");"
                  " if (v) done(v instanceof Node ? true : v); else requestAnimationFrame(check); }; check(); })")
        try:
            return await asyncio.wait_for(self.eval(script), LIMIT_S)
        except TimeoutError:
            body = await self.eval("document.body ? document.body.innerText.slice(0, 2000) : ''")
            raise AssertionError(f"never true: {what or condition}\npage text: {body}") from None

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)

    async def click(self, selector: str) -> None:
        await self.wait_for(f"document.querySelector({json.dumps(selector)})", selector)
        await self.eval(f"document.querySelector({json.dumps(selector)}).click()")

    async def type_into(self, selector: str, text: str) -> None:
        """Focus the field and type as a user would (real input events, which React listens to)."""
        await self.wait_for(f"document.querySelector({json.dumps(selector)})", selector)
        await self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        await self.send("Input.insertText", text=text)

    async def text(self, selector: str) -> str:
        return await self.eval(f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText || ''")


class Browser:
    """A headless Chromium process with its own profile, stopped (and its profile removed) on exit."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.profile = tempfile.mkdtemp(prefix="cafepos-chromium-")
        self.proc: asyncio.subprocess.Process | None = None
        self.ws: Any = None
        self._drain: asyncio.Task | None = None

    @classmethod
    def launch(cls, path: str) -> Browser:
        return cls(path)

    async def __aenter__(self) -> Page:
        self.proc = await asyncio.create_subprocess_exec(
            self.path, *FLAGS, f"--user-data-dir={self.profile}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, start_new_session=True)
        port = await asyncio.wait_for(self._devtools_port(), LIMIT_S)
        self._drain = asyncio.get_running_loop().create_task(self._drain_stderr())
        http = AsyncHTTPClient(force_instance=True)
        try:
            targets = json.loads((await http.fetch(f"http://127.0.0.1:{port}/json/list")).body)
        finally:
            http.close()
        page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        self.ws = await websocket_connect(page_url, max_message_size=64 * 1024 * 1024)
        page = Page(self.ws)
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        return page

    async def _devtools_port(self) -> int:
        assert self.proc and self.proc.stderr
        seen = []
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                raise RuntimeError("chromium exited before DevTools listened:\n" + "".join(seen))
            text = line.decode(errors="replace")
            seen.append(text)
            match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", text)
            if match:
                return int(match.group(1))

    async def _drain_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        while await self.proc.stderr.readline():
            pass

    async def __aexit__(self, *exc: Any) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.proc is not None and self.proc.returncode is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
            try:
                await asyncio.wait_for(self.proc.wait(), LIMIT_S)
            except TimeoutError:
                os.killpg(self.proc.pid, signal.SIGKILL)
                await self.proc.wait()
        if self._drain is not None:
            await self._drain
        shutil.rmtree(self.profile, ignore_errors=True)
