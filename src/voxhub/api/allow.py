"""The `Allow` header of a 405: every method the path has, not only those of the first route.

Starlette answers 405 from the first route whose path matched, so `Allow` would list that route's
methods alone (GET for a path that also has PATCH and DELETE). The OpenAPI document knows them all.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request


def allowed_methods(request: Request) -> str | None:
    """`Allow` for the request's path, or None if no documented path matches."""
    app = request.app
    paths = getattr(app.state, "allow_paths", None)
    if paths is None:
        paths = app.state.allow_paths = _paths(app)
    for pattern, methods in paths:
        if pattern.fullmatch(request.url.path):
            return ", ".join(methods)
    return None


def _paths(app: Any) -> list[tuple[re.Pattern[str], list[str]]]:
    out = []
    for template, item in app.openapi().get("paths", {}).items():
        regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        methods = sorted(m.upper() for m in item if m in _METHODS)
        if "GET" in methods:
            methods.append("HEAD")
        out.append((re.compile(regex), methods))
    return out


_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
