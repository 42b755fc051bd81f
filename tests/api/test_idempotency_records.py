"""What the idempotency layer keeps, and when: before the answer leaves, never a credential."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.db.claims import commit_with, pending_claims
from voxhub.security.idempotency import MAX_STORED_BODY, IdempotencyMiddleware
from voxhub.security.idempotency_models import IdempotencyRecord
from voxhub.security.signature_models import UsedSignature
from voxhub.storage.sweep import run_sweep

SECRET = "vxh_this-would-be-a-freshly-minted-credential"


class Effects:
    """Routes that commit their idempotency claim (as services do) and answer in several ways."""

    def __init__(self, c: Container) -> None:
        self.c = c
        self.count = 0
        self.background = asyncio.Event()

    async def _commit(self, request: Request) -> None:
        async with self.c.sessions() as session:
            commit_with(session, pending_claims(request.state))
            await session.commit()
        self.count += 1

    async def slow_background(self, request: Request) -> Response:
        await self._commit(request)
        return JSONResponse(
            {"n": self.count}, status_code=201, background=BackgroundTask(self.background.wait)
        )

    async def large(self, request: Request) -> Response:
        await self._commit(request)
        return Response(b"x" * (MAX_STORED_BODY + 1), media_type="application/octet-stream")

    async def streamed(self, request: Request) -> Response:
        await self._commit(request)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b"chunk"

        return StreamingResponse(chunks(), media_type="audio/mpeg")

    async def credential(self, request: Request) -> Response:
        await self._commit(request)
        return JSONResponse({"api_key": SECRET}, headers={"Cache-Control": "no-store"})

    def app(self) -> Starlette:
        routes = [
            Route(f"/{name}", getattr(self, name), methods=["POST"])
            for name in ("slow_background", "large", "streamed", "credential")
        ]
        app = Starlette(routes=routes)
        app.add_middleware(IdempotencyMiddleware)
        app.state.container = self.c
        return app


async def call(
    app: Starlette, path: str, key: str, on_body: Any = None
) -> tuple[int, dict[str, str], bytes]:
    """One POST straight through the ASGI app; `on_body` runs when the first body part leaves."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"idempotency-key", key.encode()), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # the client stays connected until the answer is complete
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if (
            message["type"] == "http.response.body"
            and on_body
            and not any(m["type"] == "http.response.body" for m in sent)
        ):
            await on_body()
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


async def _records(c: Container) -> list[IdempotencyRecord]:
    async with c.sessions() as s:
        return list(await s.scalars(select(IdempotencyRecord)))


@pytest.fixture
def effects(container: Container) -> Effects:
    return Effects(container)


async def test_a_retry_right_after_the_answer_is_replayed(effects: Effects) -> None:
    """The first request is still running its background work when the retry arrives."""
    app = effects.app()
    answered = asyncio.Event()

    async def note() -> None:
        answered.set()

    first = asyncio.create_task(call(app, "/slow_background", "k-bg", on_body=note))
    await asyncio.wait_for(answered.wait(), 10)
    status, headers, body = await call(app, "/slow_background", "k-bg")
    assert (status, headers.get("idempotent-replayed"), body) == (201, "true", b'{"n":1}')
    effects.background.set()
    assert (await first)[0] == 201
    assert effects.count == 1


@pytest.mark.parametrize("route", ["large", "streamed", "credential"])
async def test_unkept_answers_are_recorded_as_such(effects: Effects, route: str) -> None:
    app = effects.app()
    seen_on_first_byte: list[str] = []

    async def look() -> None:
        seen_on_first_byte.extend(r.state for r in await _records(effects.c))

    status, _, _ = await call(app, f"/{route}", f"k-{route}", on_body=look)
    assert status == 200
    # Completed before a byte left, so no retry can find it "in progress".
    assert seen_on_first_byte == ["done"]
    [record] = await _records(effects.c)
    assert (record.state, record.replayable, record.body) == ("done", False, None)
    status, headers, body = await call(app, f"/{route}", f"k-{route}")
    assert status == 409 and "idempotent-replayed" not in headers
    assert b'"code": "idempotency_replay_unavailable"' in body
    assert effects.count == 1


async def test_no_credential_is_stored(effects: Effects) -> None:
    app = effects.app()
    _, _, body = await call(app, "/credential", "k-secret")
    assert SECRET.encode() in body
    for record in await _records(effects.c):
        assert SECRET not in repr(record.headers) and SECRET.encode() not in (record.body or b"")


async def test_the_sweep_purges_expired_keys_and_signatures(effects: Effects) -> None:
    app = effects.app()
    for key in ("old", "new"):
        effects.background.set()
        await call(app, "/slow_background", key)
    async with effects.c.sessions() as s:
        s.add(UsedSignature(digest="a" * 64, expires_at=utcnow() - timedelta(seconds=1)))
        s.add(UsedSignature(digest="b" * 64, expires_at=utcnow() + timedelta(seconds=600)))
        await s.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "old")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await s.commit()
    report = await run_sweep(effects.c.sessions, effects.c.blobs, grace_s=3600)
    assert report.expired_purged == {
        "idempotency_keys": 1,
        "hmac_signatures": 1,
        # No consent row here is past its retention (tests/safety/test_consent_retention.py).
        "voice_consents": 0,
        "standing_consents": 0,
    }
    assert [r.key for r in await _records(effects.c)] == ["new"]
    async with effects.c.sessions() as s:
        left = await s.scalar(select(func.count()).select_from(UsedSignature))
    assert left == 1
