"""The Tornado Application, with a dictionary in front of its route list.

Tornado tries every route's regular expression in order until one matches; with some sixty
routes a request for a late one (GET /menu_items, GET /health) paid about as many regex
matches as it has routes.  Routes whose pattern is one literal path (no groups, no wildcards)
are looked up by path first - only when no route listed before it would also match that path,
so the answer is always the one the ordered list gives.  Everything else goes through Tornado.
"""

from __future__ import annotations

from typing import Any

import tornado.web
from tornado import httputil
from tornado.routing import PathMatches


class CafeApplication(tornado.web.Application):
    def __init__(self, handlers: list[tornado.web.URLSpec], **settings: Any) -> None:
        super().__init__(handlers, **settings)
        self.literal_routes: dict[str, tornado.web.URLSpec] = {}
        for i, spec in enumerate(handlers):
            path = _literal_path(spec)
            if path is None or path in self.literal_routes:
                continue
            if not any(_may_match(earlier, path) for earlier in handlers[:i]):
                self.literal_routes[path] = spec

    def find_handler(self, request: httputil.HTTPServerRequest, **kwargs: Any) -> tornado.web._HandlerDelegate:
        spec = self.literal_routes.get(request.path or "")
        if spec is not None:
            return self.get_handler_delegate(request, spec.target, spec.kwargs)
        return super().find_handler(request, **kwargs)


def _may_match(spec: tornado.web.URLSpec, path: str) -> bool:
    matcher = spec.matcher
    return not isinstance(matcher, PathMatches) or matcher.regex.match(path) is not None


def _literal_path(spec: tornado.web.URLSpec) -> str | None:
    matcher = spec.matcher
    if not isinstance(matcher, PathMatches) or matcher.regex.groups:
        return None
    path = matcher.regex.pattern.removesuffix("$")
    if any(ch in path for ch in "\\.^$*+?{}[]|()"):
        return None  # not a plain path (a "." matches any character, for one)
    return path
