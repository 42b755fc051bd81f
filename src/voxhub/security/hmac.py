"""HMAC-signed internal calls (seed 004): verify the raw body before anything parses it.

Signature: `hex(HMAC_SHA256(secret, METHOD + "\\n" + path + "\\n" + timestamp + "\\n" + body))`,
timestamp in epoch milliseconds. Sent as `X-Daezend-Signature`, `X-Daezend-Timestamp`, plus an
`X-Idempotency-Key`. With `SECURITY_ENABLE_HMAC` off the routes are ordinary signed-in routes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from voxhub.accounts.deps import optional_principal
from voxhub.accounts.models import Role, User
from voxhub.accounts.principal import Principal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.errors import domain_problem
from voxhub.core.clock import utcnow
from voxhub.core.errors import Forbidden, InvalidInput, Unauthenticated, VoxhubError
from voxhub.db.claims import attach_claim
from voxhub.security.deps import enforce
from voxhub.security.signature_models import UsedSignature
from voxhub.settings import SecuritySettings

log = logging.getLogger(__name__)

TIMESTAMP = "x-daezend-timestamp"
SIGNATURE = "x-daezend-signature"
IDEMPOTENCY_KEY = "x-idempotency-key"
MAX_KEY_CHARS = 255
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_MILLIS = re.compile(r"[0-9]{1,16}")
# A 401 must name a scheme (RFC 9110 §11.6.1); this one is not Bearer, so say which it is.
CHALLENGE = 'HMAC-SHA256 realm="voxhub-internal", headers="X-Daezend-Timestamp X-Daezend-Signature"'


class InvalidSignature(Unauthenticated):
    code = "invalid_signature"
    title = "Invalid signature"


class SignatureReplayed(Unauthenticated):
    code = "signature_replayed"
    title = "Signature already used"


class IdempotencyKeyRequired(InvalidInput):
    code = "idempotency_key_required"
    title = "Idempotency key required"


def sign(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    """The hex signature a caller sends for this request."""
    msg = f"{method.upper()}\n{path}\n{timestamp}\n".encode() + body
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def wall_clock_ms() -> int:
    """Now in epoch milliseconds: the clock signed timestamps are compared with."""
    return int(time.time() * 1000)


def verify(
    sec: SecuritySettings,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    now_ms: int | None = None,
) -> None:
    """Raise `InvalidSignature` unless the headers sign exactly this request, recently enough."""
    current = sec.hmac_secret.get_secret_value() if sec.hmac_secret else ""
    previous = sec.hmac_previous_secret.get_secret_value() if sec.hmac_previous_secret else ""
    if not current:
        # Fail closed: HMAC on without a secret must never mean "anything goes".
        log.error("SECURITY_ENABLE_HMAC is on but DAEZEND_API_SHARED_SECRET is not set")
        raise InvalidSignature("internal calls are not configured on this server")
    # The previous secret is accepted only while it is configured: the rotation window.
    secrets = [current, previous] if previous else [current]
    ts = headers.get(TIMESTAMP, "").strip()
    given = headers.get(SIGNATURE, "").strip()
    if not _MILLIS.fullmatch(ts) or not _HEX64.fullmatch(given):
        raise InvalidSignature("send X-Daezend-Timestamp (epoch ms) and X-Daezend-Signature")
    now = wall_clock_ms() if now_ms is None else now_ms
    if abs(now - int(ts)) > sec.hmac_max_skew_s * 1000:
        raise InvalidSignature(f"timestamp is more than {sec.hmac_max_skew_s} s from server time")
    candidate = given.lower().encode()
    # Both secrets are always compared, so timing says nothing about which one (if any) matched.
    matches = [
        hmac.compare_digest(sign(s, method, path, ts, body).encode(), candidate) for s in secrets
    ]
    if not any(matches):
        raise InvalidSignature("signature does not match this request")


def signed_path(request: Request) -> str:
    """The path as the caller sent it (percent-encoding kept), without the query string."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.split(b"?", 1)[0].decode("latin-1")
    return request.url.path


# Every signed route, for middleware that runs before routing (see `signed_call`). FastAPI keeps
# included routers nested, so walking `app.routes` would mean walking its private structures.
# Routes are made once, at import, so this list does not grow.
_SIGNED_ROUTES: list[HmacRoute] = []


class HmacRoute(APIRoute):
    """Checks the signature on the raw bytes before FastAPI parses the body or runs dependencies.

    Starlette caches `request.body()`, so the parsing that follows reads the very bytes that were
    verified. A refusal returns at once: nothing parsed, no rate-limit hit, nothing stored.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        _SIGNED_ROUTES.append(self)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            sec: SecuritySettings = request.app.state.container.settings.security
            if not sec.enable_hmac:
                return await original(request)
            body = await request.body()
            try:
                verify(sec, request.method, signed_path(request), request.headers, body)
            except InvalidSignature as exc:
                log.warning(
                    "refused internal call %s %s: %s", request.method, request.url.path, exc
                )
                resp = domain_problem(exc)
                resp.headers["WWW-Authenticate"] = CHALLENGE
                return resp
            key = request.headers.get(IDEMPOTENCY_KEY, "")
            if not 1 <= len(key) <= MAX_KEY_CHARS:
                # IETF Idempotency-Key draft: a missing or oversized key is a 400, not a 401.
                missing = IdempotencyKeyRequired(
                    f"send X-Idempotency-Key (1-{MAX_KEY_CHARS} characters) with internal calls"
                )
                return domain_problem(missing, status=400)
            container = request.app.state.container
            claim = SignatureClaim.of(request.headers[SIGNATURE], sec.hmac_max_skew_s)
            if await claim.already_used(container.sessions):
                # The same signed bytes under a new idempotency key: a captured call replayed.
                # (Under the same key the idempotency layer has already replayed the answer.)
                log.warning(
                    "refused replayed internal call %s %s", request.method, request.url.path
                )
                resp = domain_problem(SignatureReplayed(REPLAYED))
                resp.headers["WWW-Authenticate"] = CHALLENGE
                return resp
            attach_claim(request.scope.setdefault("state", {}), claim)
            request.state.hmac_verified = True
            return await original(request)

        return handler


REPLAYED = "this signed request was already accepted; sign each call afresh"


@dataclass(frozen=True)
class SignatureClaim:
    """An accepted signature, remembered with the call's effect for twice the skew window.

    Inside the window the timestamp alone cannot tell a retry from a replay; after it the
    timestamp refuses the call, so the row can go.
    """

    digest: str
    expires_at: datetime

    @classmethod
    def of(cls, signature: str, skew_s: int) -> SignatureClaim:
        digest = hashlib.sha256(signature.strip().lower().encode()).hexdigest()
        return cls(digest, utcnow() + timedelta(seconds=2 * skew_s))

    async def already_used(self, sessions: async_sessionmaker[AsyncSession]) -> bool:
        async with sessions() as session:
            row = await session.get(UsedSignature, self.digest)
        return row is not None and row.expires_at > utcnow()

    def record(self) -> UsedSignature:
        return UsedSignature(digest=self.digest, expires_at=self.expires_at)

    def conflict(self, exc: IntegrityError) -> VoxhubError | None:
        """A racing copy of this call committed first."""
        if "hmac_signatures" not in str(getattr(exc, "orig", exc)):
            return None
        return SignatureReplayed(REPLAYED)


def signed_call(scope: Scope, body: bytes) -> bool | None:
    """For middleware that runs before routing (idempotency): is this a signed internal call?

    None when HMAC is off or no `HmacRoute` serves the request; else whether the signature holds.
    Such middleware must not replay, or answer for, a call whose signature fails.
    """
    app = scope.get("app")
    container = getattr(getattr(app, "state", None), "container", None)
    if app is None or container is None or not container.settings.security.enable_hmac:
        return None
    # Matched on the path each route declares: signed routes are never mounted under a prefix.
    if not any(r.matches(scope)[0] == Match.FULL for r in _SIGNED_ROUTES):
        return None
    request = Request(scope)
    try:
        verify(
            container.settings.security, request.method, signed_path(request), request.headers, body
        )
    except InvalidSignature:
        return False
    return True


async def _named_user(request: Request) -> str | None:
    # FastAPI has already parsed the JSON body by now; Starlette caches it, so this is free.
    try:
        data = await request.json()
    except ValueError:
        return None
    user_id = data.get("user_id") if isinstance(data, dict) else None
    # Dependencies run before the body model is validated, so bound the lookup here too.
    return user_id if isinstance(user_id, str) and 0 < len(user_id) <= 64 else None


async def internal_principal(request: Request, c: ContainerDep, session: SessionDep) -> Principal:
    """Who an internal call acts as: the body's `user_id` if that user exists, else the local admin.

    With HMAC off the route is an ordinary one and needs a signed-in caller.
    """
    if not c.settings.security.enable_hmac:
        p = await optional_principal(request, c, session)
        if p is None:
            raise Unauthenticated(
                "sign in, or send an API key (Authorization: Bearer or X-API-Key)"
            )
        return p
    if not getattr(request.state, "hmac_verified", False):
        # Reached only if a route forgot `route_class=HmacRoute`: refuse rather than trust it.
        raise InvalidSignature("this route needs a signed request")
    user_id = await _named_user(request)
    user = await session.get(User, user_id) if user_id else None
    if user is not None:
        if user.disabled:
            raise Forbidden("the account named by user_id is disabled")
        return Principal(user.id, Role(user.role), "hmac")
    admin = c.extras.get("local_admin_id")
    if not admin:
        raise Forbidden("no local admin to act as; name an existing user_id")
    return Principal(str(admin), Role.admin, "hmac")


InternalPrincipal = Annotated[Principal, Depends(internal_principal)]


def internal_limited(policy: str) -> Any:
    """Rate limit an internal route per acting principal.

    `limited()` would key signed calls by IP, so every user of the main app would share one budget.
    """

    async def dependency(request: Request, c: ContainerDep, p: InternalPrincipal) -> None:
        await enforce(c, request, policy, f"user:{p.user_id}")

    return Depends(dependency)
