"""/docs in a real browser: Swagger UI 5 renders the OpenAPI 3.1 document, and a user can log in
with *Try it out*, paste the token into *Authorize* and call a protected operation with it.

Headless Chromium (Debian package `chromium`), driven over the DevTools protocol (tests/browser.py).
"""

from __future__ import annotations

import json

import pytest

from tests.browser import Browser, Page, chromium_or_skip

LOGIN = "#operations-auth-LoginHandler_post"
ME = "#operations-auth-MeHandler_get"


async def execute(page: Page, op: str, body: str | None = None) -> tuple[str, str]:
    """Open an operation, *Try it out*, optionally replace the request body, *Execute*; (status, body)."""
    if await page.eval(f"!!document.querySelector('{op} .live-responses-table')"):
        await page.click(f"{op} .btn-clear")  # so the status read below is this call's
        await page.wait_for(f"!document.querySelector('{op} .live-responses-table')", "cleared")
    if not await page.eval(f"!!document.querySelector('{op} .opblock-body')"):
        await page.click(f"{op} .opblock-summary-control")
    await page.wait_for(f"document.querySelector('{op} .try-out__btn')", f"{op} expanded")
    if await page.eval(f"!!document.querySelector('{op} .try-out__btn:not(.cancel)')"):
        await page.click(f"{op} .try-out__btn")
    if body is not None:
        await page.wait_for(f"document.querySelector('{op} textarea.body-param__text')")
        await page.eval(f"document.querySelector('{op} textarea.body-param__text').select()")
        await page.type_into(f"{op} textarea.body-param__text", body)  # replaces the selection
    await page.click(f"{op} .btn.execute")
    status_cell = f"{op} .live-responses-table .response .response-col_status"
    await page.wait_for(f"document.querySelector('{status_cell}')", f"a response in {op}")
    status = (await page.text(status_cell)).strip()
    text = await page.text(f"{op} .live-responses-table .response-col_description pre")
    return status, text


@pytest.mark.timeout(300)  # a browser start on a busy 2-core machine; each wait is bounded anyway
async def test_docs_render_and_authorize_works_in_chromium(server, demo_users):
    chromium = chromium_or_skip()
    async with Browser.launch(chromium) as page:
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=(
            "window.__cspViolations = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"))
        await page.goto(f"{server.base_url}/docs")
        count = await page.wait_for("document.querySelectorAll('.opblock').length",
                                    "the operation list rendered")
        assert not await page.eval("document.body.innerText.includes('Unable to render')")
        paths = await page.eval("[...document.querySelectorAll('.opblock-summary-path')].map(e => e.dataset.path)")
        assert count > 50 and "/orders" in paths and "/auth/login" in paths
        assert "Swagger UI" not in await page.text(".errors-wrapper")
        # Everything came from this server (no CDN, no validator badge), under its CSP.
        loaded = await page.eval("performance.getEntriesByType('resource').map(e => e.name)"
                                 ".filter(url => !url.startsWith('data:'))")
        assert loaded and all(url.startswith(server.base_url + "/") for url in loaded), loaded
        assert await page.eval("window.__cspViolations") == []

        # Without a token a protected operation is refused (so the later 200 is the token's doing).
        status, _ = await execute(page, ME)
        assert status == "401"

        # Log in through Try it out, as a reader of the docs would.
        status, text = await execute(page, LOGIN, json.dumps({"username": "admin", "password": "password123"}))
        assert status == "200", text
        token = json.loads(text)["data"]["token"]

        # Paste it into Authorize.
        await page.click(".auth-wrapper .btn.authorize")
        await page.type_into(".modal-ux input#auth-bearer-value", token)
        await page.click(".modal-ux .auth-btn-wrapper button.authorize")
        await page.wait_for("[...document.querySelectorAll('.modal-ux .auth-btn-wrapper button')]"
                            ".some(b => b.innerText.trim() === 'Logout')", "authorized")
        await page.click(".modal-ux .close-modal")

        status, text = await execute(page, ME)
        assert status == "200", text
        assert json.loads(text)["data"]["user"]["username"] == "admin"
        curl = await page.text(f"{ME} .curl-command")
        assert f"Authorization: Bearer {token}" in curl

        # persistAuthorization: after a reload the token is still used.
        await page.goto(f"{server.base_url}/docs")
        await page.wait_for("document.querySelectorAll('.opblock').length", "rendered again")
        status, text = await execute(page, ME)
        assert status == "200", text


async def test_openapi_declares_bearer_auth_for_protected_operations(client):
    doc = (await client.get("/openapi.json")).json
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    ops = {(path, method): op for path, item in doc["paths"].items() for method, op in item.items()}
    assert ops[("/orders", "get")]["security"] == [{"bearerAuth": []}]
    assert ops[("/auth/me", "get")]["security"] == [{"bearerAuth": []}]
    assert ops[("/auth/login", "post")]["security"] == []
    assert doc["servers"] == [{"url": "/"}]  # Try it out calls the server that serves the page


async def test_docs_page_loads_only_local_swagger_ui_5(client):
    page = await client.get("/docs")
    assert page.status == 200 and b"http://" not in page.body and b"https://" not in page.body
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    init = await client.get("/docs/static/docs-init.js")
    assert b"persistAuthorization: true" in init.body and b'url: "/openapi.json"' in init.body
    assert b"validatorUrl: null" in init.body
    bundle = await client.get("/docs/static/swagger-ui-bundle.js")
    assert bundle.status == 200
    assert b'"5.' in bundle.body  # Swagger UI 5: the first major that renders OpenAPI 3.1
    css = await client.get("/docs/static/swagger-ui.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    assert (await client.get("/docs/static/../settings.py")).status == 404


def test_missing_chromium_skips_locally_but_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no browser on it
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        chromium_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must install it"):
        chromium_or_skip()
