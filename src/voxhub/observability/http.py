"""Per-request context and metrics, as plain ASGI (streamed bodies pass through untouched).

Each request gets an id (the caller's `X-Request-ID` when it is short and plain, else a new
one), echoed in the response and put on every record logged while the request runs. Requests are
counted by route template (`/api/v1/jobs/{job_id}`, read from the matched route after the app
ran), so ids in paths and unmatched junk cannot grow the label set.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxhub.audit.context import client_ip_var
from voxhub.observability import metrics
from voxhub.observability.logs import request_id_var

REQUEST_ID = "X-Request-ID"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The matched route's path template, or `unmatched` (404s, refusals before routing)."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SAFE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Request id, client address (both HTTP and WebSocket), and the request counter and
    duration histogram."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip_token = client_ip_var.set(client[0] if client else None)
        if scope["type"] == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                client_ip_var.reset(ip_token)
            return
        rid = request_id(scope)
        token = request_id_var.set(rid)
        status = 500  # what the client gets when the app raises before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            client_ip_var.reset(ip_token)
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_template(scope)
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
