"""Resolving the caller from `Authorization: Bearer` (JWT, API key, OIDC), `X-API-Key` (or
ElevenLabs' `xi-api-key`), or the web app's session cookie (with its CSRF token on
state-changing requests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts import api_keys, sessions, web_session
from voxhub.accounts.models import Role, User
from voxhub.accounts.principal import Principal
from voxhub.accounts.tokens import InvalidToken, verify
from voxhub.api.deps import ContainerDep, SessionDep, end_reads
from voxhub.container import Container
from voxhub.core.errors import CsrfFailed, Forbidden, InvalidTokenError, Unauthenticated

API_KEY_PREFIX = "vxh_"


def client_ip(request: Request) -> str | None:
    """The peer address (proxies are not trusted for this)."""
    return request.client.host if request.client else None


async def _from_bearer(c: Container, session: AsyncSession, token: str) -> tuple[User, str]:
    if token.startswith(API_KEY_PREFIX):
        user = await api_keys.user_for_key(session, token)
        if user is None:
            raise InvalidTokenError("API key is not valid")
        return user, "api_key"
    try:
        claims = verify(c.tokens, token, "access")
    except InvalidToken as exc:
        oidc = c.extras.get("oidc")
        if oidc is None:
            raise InvalidTokenError("access token is not valid") from exc
        from voxhub.accounts.oidc import user_for_identity

        identity = await oidc.verify(token)
        user = await user_for_identity(
            session, identity, c.settings.security.tokens_to_give, c.tokens.secret
        )
        return user, "oidc"
    # A signature only says the token was issued; its session says it still holds.
    live = await sessions.live(session, claims.session_id, claims.sub)
    if live is None:
        raise InvalidTokenError("the session has ended or the account is not active")
    return live[1], "jwt"


async def _from_cookie(
    c: Container, session: AsyncSession, token: str, headers: Mapping[str, str], method: str
) -> User:
    try:
        claims = verify(c.tokens, token, "access")
    except InvalidToken as exc:
        raise InvalidTokenError("the sign-in has expired: sign in again") from exc
    live = await sessions.live(session, claims.session_id, claims.sub)
    if live is None:
        raise InvalidTokenError("the session has ended or the account is not active")
    if method.upper() not in web_session.SAFE_METHODS and not web_session.csrf_holds(
        c.tokens, claims.session_id, headers
    ):
        raise CsrfFailed("send the X-CSRF-Token header with the value of the vxh_csrf cookie")
    return live[1]


async def resolve_principal(
    c: Container, session: AsyncSession, headers: Mapping[str, str], method: str = "GET"
) -> Principal | None:
    """Who these request headers speak for; None when they carry no credentials.

    Bad, revoked or disabled credentials raise `InvalidTokenError`. The one place that decides,
    for routes and for layers in front of them (idempotency replays).
    """
    # `xi-api-key` is ElevenLabs' name for the same thing, sent by its SDKs on every call. Taken
    # everywhere, not only on /v1: this is the one place that decides (idempotency replays ask
    # it too), and a voxhub key is the same key whichever header carries it.
    api_key = headers.get("x-api-key") or headers.get("xi-api-key")
    auth = headers.get("authorization")
    user: User | None = None
    via = ""
    if api_key:
        user = await api_keys.user_for_key(session, api_key.strip())
        if user is None:
            raise InvalidTokenError("API key is not valid")
        via = "api_key"
    elif auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidTokenError("use 'Authorization: Bearer <token>'")
        user, via = await _from_bearer(c, session, token.strip())
    elif cookie := web_session.cookie(
        headers, web_session.names(c.settings.security.cookie_secure).access
    ):
        user, via = await _from_cookie(c, session, cookie, headers, method), "cookie"
    if user is not None:
        return Principal(user.id, Role(user.role), via)
    local = c.extras.get("local_admin_id")
    if c.settings.security.auth == "off" and local:
        return Principal(str(local), Role.admin, "local")
    return None


async def optional_principal(
    request: Request, c: ContainerDep, session: SessionDep
) -> Principal | None:
    """The caller, or None when no credentials came (bad credentials are a 401, not None)."""
    principal = await resolve_principal(c, session, request.headers, request.method)
    if principal is not None and principal.via != "local":
        request.state.user_id = principal.user_id
    # The route may work for seconds (decoding an upload, synthesis) before it writes.
    await end_reads(session)
    return principal


async def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The caller; 401 when anonymous."""
    if principal is None:
        raise Unauthenticated("sign in, or send an API key (Authorization: Bearer or X-API-Key)")
    return principal


async def require_admin(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    """The caller, who must be an admin."""
    if not principal.is_admin:
        raise Forbidden("admins only")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
