"""Response headers added on the way out: security headers and the tightest RateLimit seen."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(self)",
}


class ResponseHeadersMiddleware:
    """Adds security headers to every response, and RateLimit headers to limited routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                decisions = scope.get("state", {}).get("rate_limits") or []
                if decisions and "ratelimit" not in headers:
                    tightest = min(decisions, key=lambda d: d.remaining)
                    for name, value in tightest.headers().items():
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
