"""Idempotency keys on creating POSTs (IETF Idempotency-Key draft, Stripe semantics).

A request with `Idempotency-Key` (or seed 004's `X-Idempotency-Key`) is looked up for its
principal and route. A retry with the same body replays the stored first response with
`Idempotent-Replayed: true`; a different body is 422; a retry while the first still runs is
409; a key over 255 characters is 400. A new key is claimed by inserting its row in the same
transaction as the request's effect (see `voxhub.api.deps.get_session`): a request that fails
before committing stores nothing, and of two racing requests only one commits; the other's
commit fails on the key's primary key, is rolled back, and answers 409. Before the answer
leaves, the committed claim is completed with the status, replayed headers and body; answers
that carry a credential (`Cache-Control: no-store`), are streamed, or are too large are recorded
without their body, and a retry with their key answers 409 `idempotency_replay_unavailable`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxhub.accounts.deps import resolve_principal
from voxhub.container import Container
from voxhub.core.errors import VoxhubError
from voxhub.db.claims import attach_claim
from voxhub.safety.marking import GENERATED_HEADER, ID_HEADER
from voxhub.security import idempotency_store as store
from voxhub.security.hmac import signed_call

HEADERS = (b"idempotency-key", b"x-idempotency-key")
MAX_KEY = 255
MAX_STORED_BODY = 16 * 1024 * 1024
# Below this a hash costs less than handing it to a thread.
INLINE_HASH_BYTES = 64 * 1024
REPLAYED_HEADERS = {"content-type", "location", "content-disposition"}


def _problem(status: int, code: str, detail: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": code.replace("_", " ").capitalize(),
            "status": status,
            "code": code,
            "detail": detail,
        }
    ).encode()
    return status, [(b"content-type", b"application/problem+json")], body


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def principal_scope(c: Container, scope: Scope, client: str) -> str | None:
    """Whose key this is: the credentials' user, the IP if anonymous, None if they do not hold.

    Decided by the same rules as the routes (an ended session, a disabled user, a revoked key
    get no replay), so a stored answer is never handed to someone the route would refuse.
    """
    async with c.sessions() as session:
        try:
            principal = await resolve_principal(
                c, session, Headers(scope=scope), scope.get("method", "GET")
            )
        except VoxhubError:
            return None
    return f"user:{principal.user_id}" if principal else f"ip:{client}"


class IdempotencyMiddleware:
    """Claims, replays and records idempotent POSTs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key_bytes = next((headers[h] for h in HEADERS if h in headers), None)
        if scope["type"] != "http" or scope["method"] != "POST" or key_bytes is None:
            await self.app(scope, receive, send)
            return
        key = key_bytes.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY:
            await _respond(
                send,
                *_problem(
                    400,
                    "idempotency_key_invalid",
                    f"Idempotency-Key must be 1 to {MAX_KEY} characters",
                ),
            )
            return
        c: Container = scope["app"].state.container
        body = await _read_body(receive)
        signed = signed_call(scope, body)
        client = scope.get("client") or ("unknown", 0)
        # A signed internal call is the calling service's, whatever machine it retries from;
        # a call whose signature fails is never answered from the store: the route says 401.
        who = "hmac" if signed else await principal_scope(c, scope, client[0])
        if who is None or signed is False:
            await self.app(scope, _replay(body, receive), send)
            return
        route = f"POST {scope['path']}"
        fingerprint = await _fingerprint(
            headers.get(b"content-type", b""), scope.get("query_string", b""), body
        )
        existing = await store.lookup(c.sessions, who, route, key)
        if existing is not None:
            await _answer_from(existing, fingerprint, send)
            return
        claim = store.pending(who, route, key, fingerprint, c.settings.security.idempotency_ttl_s)
        attach_claim(scope.setdefault("state", {}), claim)
        recorder = _Recorder(send, c, claim)
        await self.app(scope, _replay(body, receive), recorder.capture)
        await recorder.flush()


class _Recorder:
    """Stores the answer before the client can read it, so an instant retry finds it.

    A one-message answer (any JSON or audio `Response`) is held until its record is written. A
    streamed answer cannot be held: before its first byte leaves, its record is completed as
    not replayable, and so is an answer marked `Cache-Control: no-store` (tokens, API keys: a
    credential is never stored) or one too large to keep. A retry of those is told so (409).
    """

    def __init__(self, send: Send, c: Container, claim: store.PendingClaim) -> None:
        self.send = send
        self.c = c
        self.claim = claim
        self.start: Message | None = None
        self.done = False

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
            return
        if not self.done:
            chunk = message.get("body", b"")
            whole = not message.get("more_body", False)
            await self._complete(chunk if whole else None)
            await self.send(self.start)
        await self.send(message)

    async def flush(self) -> None:
        """An app that ended after the start message but sent no body still answers."""
        if self.start is not None and not self.done:
            await self._complete(b"")
            await self.send(self.start)
            await self.send({"type": "http.response.body", "body": b""})

    async def _complete(self, body: bytes | None) -> None:
        self.done = True
        assert self.start is not None
        status = self.start["status"]
        headers = {
            name.decode().lower(): value.decode("latin-1")
            for name, value in self.start.get("headers", [])
        }
        kept = {
            k: v for k, v in headers.items() if k in REPLAYED_HEADERS or k.startswith("x-voxhub")
        }
        secret = "no-store" in headers.get("cache-control", "").lower()
        if body is None or secret or len(body) > MAX_STORED_BODY:
            await store.complete(self.c.sessions, self.claim, status, kept, None, replayable=False)
        else:
            await store.complete(self.c.sessions, self.claim, status, kept, body)


async def _answer_from(record: Any, fingerprint: str, send: Send) -> None:
    """Answer a request whose key is known: mismatch, still running, unkept, or replay."""
    if record.fingerprint != fingerprint:
        await _respond(
            send,
            *_problem(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            ),
        )
    elif record.state != "done":
        await _respond(
            send,
            *_problem(
                409,
                "idempotency_key_in_flight",
                "a request with this Idempotency-Key is still running",
            ),
        )
    elif not record.replayable:
        await _respond(
            send,
            *_problem(
                409,
                "idempotency_replay_unavailable",
                f"a request with this Idempotency-Key already answered {record.status}; that "
                "answer carried a credential or was streamed, so it is not kept. Use a new key "
                "to do it again",
            ),
        )
    elif _unmarked_media(record.headers, record.body or b""):
        await _respond(
            send,
            *_problem(
                409,
                "idempotency_replay_unavailable",
                f"a request with this Idempotency-Key already answered {record.status} with "
                "audio recorded before this instance watermarked its outputs, which it no "
                "longer sends. Use a new key to do it again",
            ),
        )
    else:
        replay = [(k.encode(), str(v).encode()) for k, v in record.headers.items()]
        headers = [*replay, (b"idempotent-replayed", b"true")]
        await _respond(send, record.status or 200, headers, record.body or b"")


def _unmarked_media(headers: dict[str, str], body: bytes) -> bool:
    """Whether a stored answer holds audio or video from before outputs were watermarked:
    every answer carrying generated media since has `X-Voxhub-Generated` (kept with the
    body). Media comes as itself, or inside JSON or multipart with timings (`audio_base64`,
    an audio part), and such answers name their generation."""
    if GENERATED_HEADER.lower() in headers:
        return False
    kind = headers.get("content-type", "").split("/", 1)[0]
    return (
        kind in ("audio", "video", "multipart")
        or ID_HEADER.lower() in headers
        or b'"audio_base64"' in body
    )


async def _fingerprint(content_type: bytes, query: bytes, body: bytes) -> str:
    """What identifies a request's content; hashing 25 MB takes tens of ms, so not on the loop."""
    material = content_type + b"\n" + query + b"\n" + body
    if len(material) < INLINE_HASH_BYTES:
        return hashlib.sha256(material).hexdigest()
    return await asyncio.to_thread(lambda: hashlib.sha256(material).hexdigest())


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already-read body to the app, then defers to the real one."""
    sent = False

    async def replay_receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay_receive


async def _read_body(receive: Receive) -> bytes:
    # The body cap sits outside this middleware, so this stays bounded.
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)
