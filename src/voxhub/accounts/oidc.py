"""External identity tokens (OIDC, Firebase ID tokens): verified against a JWKS, mapped to users."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.models import User
from voxhub.accounts.service import grant_starting_credits
from voxhub.audit import service as audit
from voxhub.core.errors import InvalidTokenError

ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


@dataclass
class OidcVerifier:
    """Checks signature (keys from the JWKS URL, cached), issuer, audience and expiry."""

    jwks_url: str
    issuer: str
    audience: str
    leeway_s: int = 30

    def __post_init__(self) -> None:
        self._client = jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=3600, timeout=5)

    def _verify(self, token: str) -> dict[str, Any]:
        key = self._client.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ASYMMETRIC,
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway_s,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
        return claims

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims (the JWKS fetch is blocking I/O, so it runs in a thread)."""
        try:
            return await asyncio.to_thread(self._verify, token)
        except (jwt.PyJWTError, OSError) as exc:
            raise InvalidTokenError("identity token is not valid") from exc


def local_id(key: bytes, external_id: str) -> str:
    """The user id of an external identity, the same on every request, unguessable without `key`.

    A first sign-in is committed only by a request that commits; until then each request adds
    the same user again rather than a new stranger.
    """
    digest = hmac.new(key, b"oidc-user|" + external_id.encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


async def user_for_identity(
    session: AsyncSession, claims: dict[str, Any], credits: int, key: bytes
) -> User:
    """The local user of an external identity, added on first sight; disabled users are refused.

    A new user joins the request's unit of work (flushed, committed with the request's effect),
    so authentication never commits on its own.
    """
    external_id = f"{claims['iss']}|{claims['sub']}"
    user = await session.scalar(select(User).where(User.external_id == external_id))
    if user is None:
        user = await _add_identity(session, claims, local_id(key, external_id), credits)
    if user.disabled:
        raise InvalidTokenError("account is not active")
    return user


async def _add_identity(
    session: AsyncSession, claims: dict[str, Any], user_id: str, credits: int
) -> User:
    external_id = f"{claims['iss']}|{claims['sub']}"
    email = str(claims.get("email") or f"{claims['sub']}@external.invalid").lower()
    user = User(
        id=user_id,
        email=email,
        name=str(claims.get("name") or ""),
        external_id=external_id,
        credits=0,  # granted below, through the ledger
        is_verified=bool(claims.get("email_verified")),
        password_hash=None,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Authentication runs first, so rolling back drops nothing of the request's own.
        await session.rollback()
        raced = await session.scalar(select(User).where(User.external_id == external_id))
        if raced is not None:  # another request's first sign-in committed meanwhile
            return raced
        raise InvalidTokenError("this identity's email belongs to another account") from exc
    await grant_starting_credits(session, user, credits)
    audit.record(
        session,
        "signup",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        via="oidc",
        issuer=str(claims["iss"]),
    )
    return user
