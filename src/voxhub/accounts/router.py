"""/api/v1/auth, /api/v1/me and /api/v1/api-keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts import api_keys, service
from voxhub.accounts.deps import CurrentPrincipal
from voxhub.accounts.models import User
from voxhub.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    SignupRequest,
    TokenPair,
    UserRead,
)
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.bootstrap import Container
from voxhub.core.errors import UserNotFound
from voxhub.security.deps import enforce

router = APIRouter(tags=["accounts"])


def client_ip(request: Request) -> str | None:
    """The peer address (proxies are not trusted for this)."""
    return request.client.host if request.client else None


def login_key(request: Request, email: str) -> str:
    """Login attempts are limited per (IP, email): guessing one account, or spraying many."""
    return f"{client_ip(request)}|{service.normalise_email(email)}"


async def sign_up(
    c: Container, session: AsyncSession, request: Request, email: str, password: str, name: str
) -> tuple[User, str, str]:
    """A new account with the starting credits, signed in at once."""
    credits = c.settings.security.tokens_to_give
    user = await service.signup(session, email, password, name, credits, ip=client_ip(request))
    access, refresh = await service.issue_tokens(session, c.tokens, user)
    return user, access, refresh


async def sign_in(
    c: Container, session: AsyncSession, request: Request, email: str, password: str
) -> tuple[User, str, str]:
    """Rate-limited password sign-in; returns the user with an access and a refresh token."""
    await enforce(c, request, "login", login_key(request, email))
    user = await service.authenticate(session, email, password, client_ip(request))
    access, refresh = await service.issue_tokens(session, c.tokens, user)
    return user, access, refresh


def token_pair(c: Container, user: User, access: str, refresh: str) -> TokenPair:
    """The token response."""
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=c.settings.security.access_token_ttl_s,
        user=UserRead.model_validate(user),
    )


@router.post("/api/v1/auth/signup", status_code=status.HTTP_201_CREATED, response_model=TokenPair)
async def signup(
    body: SignupRequest, request: Request, c: ContainerDep, session: SessionDep
) -> TokenPair:
    """Create an account and sign in."""
    user, access, refresh = await sign_up(c, session, request, body.email, body.password, body.name)
    return token_pair(c, user, access, refresh)


@router.post("/api/v1/auth/login", response_model=TokenPair)
async def login(
    body: LoginRequest, request: Request, c: ContainerDep, session: SessionDep
) -> TokenPair:
    """Exchange email and password for an access and a refresh token."""
    user, access, refresh = await sign_in(c, session, request, body.email, body.password)
    return token_pair(c, user, access, refresh)


@router.post("/api/v1/auth/refresh", response_model=TokenPair)
async def refresh(
    body: RefreshRequest, request: Request, c: ContainerDep, session: SessionDep
) -> TokenPair:
    """Rotate a refresh token: the old one stops working; reusing it revokes the session."""
    user, access, new_refresh = await service.rotate(
        session, c.tokens, body.refresh_token, client_ip(request)
    )
    return token_pair(c, user, access, new_refresh)


@router.get("/api/v1/auth/login-link", response_model=TokenPair)
async def use_login_link(
    token: Annotated[str, Query(max_length=4096)],
    request: Request,
    response: Response,
    c: ContainerDep,
    session: SessionDep,
) -> TokenPair:
    """Exchange a one-time login link (printed on first start) for tokens; it works once."""
    response.headers["Cache-Control"] = "no-store"
    user, access, new_refresh = await service.rotate(session, c.tokens, token, client_ip(request))
    return token_pair(c, user, access, new_refresh)


@router.post("/api/v1/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshRequest, c: ContainerDep, session: SessionDep) -> Response:
    """End the session of this refresh token."""
    await service.logout(session, c.tokens, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/v1/me", response_model=UserRead)
async def me(p: CurrentPrincipal, session: SessionDep) -> UserRead:
    """The signed-in user."""
    user = await session.get(User, p.user_id)
    if user is None:
        raise UserNotFound("no such user")
    return UserRead.model_validate(user)


@router.post("/api/v1/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChange, p: CurrentPrincipal, request: Request, session: SessionDep
) -> Response:
    """Change your password; every refresh token you hold is revoked."""
    user = await session.get(User, p.user_id)
    if user is None:
        raise UserNotFound("no such user")
    await service.change_password(
        session, user, body.current_password, body.new_password, client_ip(request)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api/v1/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(
    body: ApiKeyCreate, p: CurrentPrincipal, request: Request, session: SessionDep
) -> ApiKeyCreated:
    """Create an API key; the key is in this answer only."""
    key, plain = await api_keys.create_key(session, p, body.name, client_ip(request))
    return ApiKeyCreated(**ApiKeyRead.model_validate(key).model_dump(), key=plain)


@router.get("/api/v1/api-keys", response_model=list[ApiKeyRead])
async def list_api_keys(p: CurrentPrincipal, session: SessionDep) -> list[ApiKeyRead]:
    """Your active API keys (prefixes only)."""
    return [ApiKeyRead.model_validate(k) for k in await api_keys.list_keys(session, p)]


@router.delete("/api/v1/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(
    key_id: str, p: CurrentPrincipal, request: Request, session: SessionDep
) -> Response:
    """Revoke one of your API keys."""
    await api_keys.revoke_key(session, p, key_id, client_ip(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
