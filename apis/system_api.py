"""System endpoints: health, the OpenAPI document and the docs UI."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import tornado.web

from apis.base import BaseHandler
from orm.domain import jsonenc
from version import VERSION


# Swagger UI 5 (renders OpenAPI 3.1) from the swagger-ui-py package's own assets: no CDN.  Only its
# static folder is used (found without importing the package, whose Tornado helper we do not need:
# our handlers add the security headers and request id every answer carries).
def _swagger_ui_dir() -> str:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return str(Path(spec.submodule_search_locations[0]) / "static")


SWAGGER_UI_DIR = _swagger_ui_dir()
DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CafePOS API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/docs-init.js"></script>
</body></html>"""
# persistAuthorization keeps the token pasted into *Authorize* across reloads (browser storage);
# Swagger UI sends it as "Authorization: Bearer ..." on every operation that declares bearerAuth.
# validatorUrl null: the default would fetch a badge from validator.swagger.io (nothing leaves the server).
DOCS_INIT = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  deepLinking: true, persistAuthorization: true, displayRequestDuration: true,
  tryItOutEnabled: false, filter: true, validatorUrl: null});"""
# The page loads only its own scripts and styles and talks only to this server (Swagger UI sets
# element styles from script, and draws some icons as data: images).
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class HealthHandler(BaseHandler):
    """Liveness and readiness: database, scheduler and uploads checks."""

    allow_unauthenticated = True
    # Docker's HEALTHCHECK, load balancers and uptime monitors ask every few seconds: a healthy answer
    # is logged at DEBUG (LOG_LEVEL=DEBUG shows it), anything else as every other request is.
    log_success_at_debug = True
    api_doc = {"get": {"summary": "Health of the server and its dependencies", "tags": ["system"]}}

    async def get(self) -> None:
        # The database probe is shared by the requests of one second (services/health_probe.py).
        checks: dict[str, Any] = {"database": dict(await self.ctx.health_probe.database())}
        services = self.ctx.services
        sched_ok = services is None or all(s.running for s in services)
        checks["scheduler"] = {"status": "healthy" if sched_ok else "degraded"}
        uploads: Path = self.ctx.settings.uploads_dir
        up_ok = uploads.is_dir() and os.access(uploads, os.W_OK)
        checks["uploads"] = {"status": "healthy" if up_ok else "unhealthy"}
        healthy = checks["database"]["status"] == "healthy" and self.ctx.schema_ready
        data = {
            "status": "healthy" if healthy else "unhealthy",
            "version": VERSION,
            "uptimeSeconds": round(self.ctx.uptime_seconds(), 1),
            "checks": checks,
        }
        if healthy:
            self.success(data, plain=True)  # str, int, float, bool: the standard library's C encoder
        else:
            env = self.envelope(data)
            env.update(success=False, errors=["The database is unreachable"],
                       errorCode="SERVICE_UNAVAILABLE", statusCode=503, requestId=self.request_id)
            self.send_json(env, 503)


class OpenAPIHandler(BaseHandler):
    """The OpenAPI 3.1 document (bare, not in the envelope)."""

    allow_unauthenticated = True
    api_doc = {"get": {"summary": "This document", "raw": "application/json", "tags": ["system"]}}

    async def get(self) -> None:
        doc = self.application.settings["openapi_document"]
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "public, max-age=60")
        self.finish(jsonenc.dumps(doc))


class DocsHandler(BaseHandler):
    """Swagger UI 5, served from the swagger-ui-py package (no CDN)."""

    allow_unauthenticated = True
    api_doc = {"get": {"summary": "Interactive API documentation", "raw": "text/html",
                       "tags": ["system"]}}

    async def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "public, max-age=300")
        self.set_header("Content-Security-Policy", DOCS_CSP)
        self.finish(DOCS_PAGE)


class DocsInitHandler(BaseHandler):
    """The docs page's start-up script."""

    allow_unauthenticated = True
    api_doc = {"get": {"summary": "Swagger UI start-up script", "raw": "application/javascript",
                       "tags": ["system"]}}

    async def get(self) -> None:
        self.set_header("Content-Type", "application/javascript; charset=UTF-8")
        self.finish(DOCS_INIT)


class DocsAssetHandler(tornado.web.StaticFileHandler):
    """Static Swagger UI assets; public like the page that loads them."""

    allow_unauthenticated = True

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        # API.md: every response carries X-Request-ID (the client's, else a new one), assets too.
        self.set_header("X-Request-ID", BaseHandler._pick_request_id(self))  # type: ignore[arg-type]


default_handlers = [
    (r"/health", HealthHandler),
    (r"/openapi.json", OpenAPIHandler),
    (r"/docs/?", DocsHandler),
    (r"/docs/static/docs-init.js", DocsInitHandler),
    (r"/docs/static/(?P<path>swagger-ui[\w.-]*\.(?:js|css))", DocsAssetHandler,
     {"path": SWAGGER_UI_DIR}),
]
