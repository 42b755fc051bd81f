"""/api/v1/auth, /api/v1/me and /api/v1/api-keys."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts import api_keys, service
from voxhub.accounts.admin_router import router as admin_router
from voxhub.accounts.deps import CurrentPrincipal, client_ip
from voxhub.accounts.errors import SignupClosed
from voxhub.accounts.login_link import PAGE
from voxhub.accounts.models import User
from voxhub.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    LoginLinkRequest,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    SignupRequest,
    TokenPair,
    UserRead,
)
from voxhub.api.deps import CarriesCredential, ContainerDep, SessionDep
from voxhub.container import Container
from voxhub.core.errors import UserNotFound
from voxhub.security.deps import enforce

router = APIRouter(tags=["accounts"])
router.include_router(admin_router)
NO_STORE = {"Cache-Control": "no-store"}

__all__ = ["client_ip", "router", "sign_in", "sign_up"]


def login_key(request: Request, email: str) -> str:
    """Login attempts are limited per (IP, email): guessing one account, or spraying many."""
    return f"{client_ip(request)}|{service.normalise_email(email)}"


async def sign_up(
    c: Container, session: AsyncSession, request: Request, email: str, password: str, name: str
) -> service.SignedIn:
    """A new account with the starting credits, signed in at once; every sign-up face comes
    here, so closing sign-up closes them all."""
    if c.settings.security.signup == "closed":
        raise SignupClosed("sign-up is closed on this instance: ask an admin for an account")
    credits = c.settings.security.tokens_to_give
    return await service.register(
        session, c.tokens, email, password, name, credits, client_ip(request)
    )


async def sign_in(
    c: Container, session: AsyncSession, request: Request, email: str, password: str
) -> service.SignedIn:
    """Rate-limited password sign-in."""
    await enforce(c, request, "login", login_key(request, email))
    return await service.login(session, c.tokens, email, password, client_ip(request))


def token_pair(c: Container, signed: service.SignedIn) -> TokenPair:
    """The token response."""
    return TokenPair(
        access_token=signed.access,
        refresh_token=signed.refresh,
        expires_in=c.settings.security.access_token_ttl_s,
        user=UserRead.model_validate(signed.user),
    )


@router.post(
    "/api/v1/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenPair,
    dependencies=[CarriesCredential],
)
async def signup(
    body: SignupRequest, request: Request, c: ContainerDep, session: SessionDep
) -> TokenPair:
    """Create an account and sign in."""
    return token_pair(c, await sign_up(c, session, request, body.email, body.password, body.name))


@router.post("/api/v1/auth/login", response_model=TokenPair, dependencies=[CarriesCredential])
async def login(
    body: LoginRequest, request: Request, c: ContainerDep, session: SessionDep
) -> TokenPair:
    """Exchange email and password for an access and a refresh token."""
    return token_pair(c, await sign_in(c, session, request, body.email, body.password))


@router.post("/api/v1/auth/refresh", response_model=TokenPair, dependencies=[CarriesCredential])
async def refresh(
    body: RefreshRequest, request: Request, c: ContainerDep, session: SessionDep
) -> TokenPair:
    """Rotate a refresh token: the old one stops working; reusing it revokes the session."""
    signed = await service.rotate(session, c.tokens, body.refresh_token, client_ip(request))
    return token_pair(c, signed)


@router.get("/api/v1/auth/login-link", response_class=HTMLResponse)
async def login_link_page() -> HTMLResponse:
    """The page the first-start link opens: it POSTs the link's `#token=` fragment back here."""
    return HTMLResponse(PAGE, headers=NO_STORE)


@router.post("/api/v1/auth/login-link", response_model=TokenPair, dependencies=[CarriesCredential])
async def use_login_link(
    body: LoginLinkRequest,
    request: Request,
    response: Response,
    c: ContainerDep,
    session: SessionDep,
) -> TokenPair:
    """Exchange a one-time login link's token (printed on first start) for tokens; it works once."""
    response.headers.update(NO_STORE)
    return token_pair(c, await service.rotate(session, c.tokens, body.token, client_ip(request)))


@router.post("/api/v1/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    body: RefreshRequest, request: Request, c: ContainerDep, session: SessionDep
) -> Response:
    """End the session of this refresh token: its access tokens stop working too."""
    await service.logout(session, c.tokens, body.refresh_token, client_ip(request))
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
    """Change your password; every session you hold ends, this one included (sign in again)."""
    user = await session.get(User, p.user_id)
    if user is None:
        raise UserNotFound("no such user")
    await service.change_password(
        session, user, body.current_password, body.new_password, client_ip(request)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/v1/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    dependencies=[CarriesCredential],
)
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
