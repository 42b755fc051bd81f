"""A real webhook receiver on loopback: uvicorn serving a Starlette app that records every
request and answers with the statuses a test scripts (the last one repeats)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    method: str
    raw_path: str  # as it came on the request line, without the query
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    port: int
    statuses: list[int] = field(default_factory=lambda: [200])
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    # Requests that arrived at once: proves (or disproves) two deliverers sending one row.
    in_flight: int = 0
    max_in_flight: int = 0

    def status_for(self, n: int) -> int:
        return self.statuses[min(n, len(self.statuses) - 1)]


def _app(rx: Receiver) -> Starlette:
    async def hook(request: Request) -> Response:
        body = await request.body()
        raw = request.scope.get("raw_path") or request.url.path.encode()
        n = len(rx.received)
        rx.received.append(
            Received(
                request.method,
                raw.split(b"?", 1)[0].decode("latin-1"),
                dict(request.headers),
                body,
            )
        )
        rx.in_flight += 1
        rx.max_in_flight = max(rx.max_in_flight, rx.in_flight)
        try:
            if rx.delay_s:
                await asyncio.sleep(rx.delay_s)
        finally:
            rx.in_flight -= 1
        status = rx.status_for(n)
        headers = {"location": f"{rx.url}/elsewhere"} if 300 <= status < 400 else None
        return Response(b"ok", status_code=status, headers=headers)

    return Starlette(routes=[Route("/{path:path}", hook, methods=["GET", "POST"])])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def receiver(
    statuses: list[int] | None = None,
    delay_s: float = 0.0,
    tls: tuple[str, str] | None = None,  # (certfile, keyfile): serve HTTPS
) -> AsyncIterator[Receiver]:
    port = free_port()
    scheme = "https" if tls else "http"
    rx = Receiver(f"{scheme}://127.0.0.1:{port}", port, statuses or [200], delay_s)
    config = uvicorn.Config(
        _app(rx),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield rx
    finally:
        server.should_exit = True
        await task
