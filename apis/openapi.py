"""The OpenAPI 3.1 document, built from the route table and each handler's `api_doc`.

Request and response bodies come from the same pydantic models that validate
requests (DESIGN.md), so the document cannot drift from the code.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic

from apis.base import AUTHENTICATED, BaseHandler

ENVELOPE_ERROR = {
    "type": "object",
    "required": ["success", "data", "errors", "timestamp"],
    "properties": {
        "success": {"type": "boolean", "const": False},
        "data": {"type": "object"},
        "errors": {"type": "array", "items": {"type": "string"}},
        "errorCode": {"type": "string"},
        "fieldErrors": {"type": "object", "additionalProperties": {"type": "string"}},
        "statusCode": {"type": "integer"},
        "requestId": {"type": "string"},
        "timestamp": {"type": "string"},
    },
}
STANDARD_ERRORS = {
    "400": "Invalid input (VALIDATION_ERROR, INVALID_JSON)",
    "401": "Missing, invalid or expired token",
    "403": "Missing permission",
    "404": "Not found",
    "409": "Conflict with the current state",
    "413": "Body too large",
    "415": "Unsupported media type",
    "423": "Account locked",
    "429": "Rate limited",
    "503": "Service unavailable (database not reachable yet, e-mail server down)",
}


def _named_groups(pattern: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of each top-level named group, nested parentheses included."""
    found = []
    for m in re.finditer(r"\(\?P<(\w+)>", pattern):
        depth, i = 0, m.start()
        while i < len(pattern):
            ch = pattern[i]
            if ch == "\\":
                i += 2
                continue
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                found.append((m.start(), i + 1, m.group(1)))
                break
            i += 1
    return found


def openapi_path(pattern: str) -> str:
    path = pattern
    for start, end, name in reversed(_named_groups(pattern)):
        path = path[:start] + "{" + name + "}" + path[end:]
    path = path.rstrip("$").replace("\\.", ".")
    return path[:-2] if path.endswith("/?") else path


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {"ErrorEnvelope": ENVELOPE_ERROR}

    def ref(self, model: Any) -> dict[str, Any]:
        if isinstance(model, dict):
            return model
        if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}",
                                              by_alias=True)
            for name, sub in schema.pop("$defs", {}).items():
                self.schemas.setdefault(name, sub)
            self.schemas[model.__name__] = schema
            return {"$ref": f"#/components/schemas/{model.__name__}"}
        raise TypeError(f"cannot describe {model!r}")


def _envelope(data_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["success", "data", "errors", "timestamp"],
        "properties": {
            "success": {"type": "boolean"},
            "data": data_schema,
            "errors": {"type": "array", "items": {"type": "string"}},
            "timestamp": {"type": "string"},
            "message": {"type": "string"},
        },
    }


def build_document(routes: list[tuple[str, type]], *, version: str) -> dict[str, Any]:
    comps = _Components()
    paths: dict[str, Any] = {}
    for pattern, handler in routes:
        if not (isinstance(handler, type) and issubclass(handler, BaseHandler)):
            continue
        path = openapi_path(pattern)
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for _s, _e, name in _named_groups(pattern)
        ]
        for method in ("get", "post", "put", "patch", "delete"):
            if getattr(handler, method) is getattr(BaseHandler, method, None) and \
                    method not in handler.api_doc:
                continue
            if method.upper() not in handler.permissions and not handler.allow_unauthenticated:
                continue
            doc = handler.api_doc.get(method, {})
            op: dict[str, Any] = {
                "summary": doc.get("summary") or (handler.__doc__ or "").strip().split("\n")[0],
                "operationId": f"{handler.__name__}_{method}",
                "tags": doc.get("tags") or [path.strip("/").split("/")[0] or "system"],
                "parameters": list(params),
            }
            for name, spec in (doc.get("query") or {}).items():
                schema = spec if isinstance(spec, dict) else {"type": "string"}
                op["parameters"].append({"name": name, "in": "query", "required": False,
                                         "schema": schema})
            body = doc.get("body")
            if body is not None:
                content_type = doc.get("body_type", "application/json")
                op["requestBody"] = {"required": not doc.get("body_optional", False),
                                     "content": {content_type: {"schema": comps.ref(body)}}}
            status = str(doc.get("status", 201 if method == "post" and doc.get("creates") else 200))
            response = doc.get("response")
            data_schema = comps.ref(response) if response is not None else {"type": "object"}
            if doc.get("raw"):
                # One media type, or several (e.g. a receipt as text, html, ESC/POS bytes or JSON in the
                # envelope); application/json in a list means the envelope, alone the bare document.
                raw = doc["raw"]
                kinds = [raw] if isinstance(raw, str) else list(raw)
                content = {kind: {"schema": ({"type": "object"} if isinstance(raw, str) else _envelope(data_schema))
                                  if "json" in kind else {"type": "string"}} for kind in kinds}
            else:
                content = {"application/json": {"schema": _envelope(data_schema)}}
            op["responses"] = {status: {"description": doc.get("description", "Success"),
                                        "content": content}}
            if doc.get("not_modified"):
                op["responses"]["304"] = {"description": "Not modified (ETag matched)"}
            error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
            # Public operations may still refuse the credentials they are given: they list 401/403
            # in api_doc "responses" ({code: description}).
            extra = {str(code): text for code, text in (doc.get("responses") or {}).items()}
            for code, text in {**STANDARD_ERRORS, **extra}.items():
                if code in ("401", "403") and handler.allow_unauthenticated and code not in extra:
                    continue
                op["responses"].setdefault(code, {"description": text, "content": error_ref})
            if not handler.allow_unauthenticated:
                op["security"] = [{"bearerAuth": []}]
                needed = handler.permissions.get(method.upper())
                if needed and needed != AUTHENTICATED:
                    names = needed if isinstance(needed, tuple) else (needed,)
                    op["description"] = "Permission: " + " or ".join(names)
            else:
                op["security"] = []
            paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "CafePOS API", "version": version,
                 "description": "Point-of-sale backend for cafés. Every JSON answer uses the envelope."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": comps.schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
