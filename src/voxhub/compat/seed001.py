"""Seed 001's auth endpoints: /api/signup, /api/login, /api/me, /api/refresh-token."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response, status
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from voxhub.accounts import service, sessions
from voxhub.accounts.deps import CurrentPrincipal
from voxhub.accounts.models import User
from voxhub.accounts.router import client_ip, sign_in, sign_up
from voxhub.accounts.schemas import Email, LoginEmail, NewPassword
from voxhub.accounts.tokens import InvalidToken, issue, verify
from voxhub.api.deps import CarriesCredential, ContainerDep, SessionDep
from voxhub.api.errors import domain_problem
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.errors import InsufficientCredits, InvalidTokenError, UserNotFound


class Seed001Route(APIRoute):
    """Seed 001's routes answer a short balance with HTTP 400 ("If insufficient, returns HTTP
    400 error"), where the primary API answers 402: the same problem+json body, code
    `insufficient_credits`, naming `cost` and `balance`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except InsufficientCredits as exc:
                return domain_problem(exc, status.HTTP_400_BAD_REQUEST)

        return route


router = APIRouter(tags=["compat: seed 001"], route_class=Seed001Route)


class Seed001User(BaseModel):
    id: str
    name: str
    email: str
    tokens: int
    isVerified: bool
    subscription: str
    createdAt: datetime
    updatedAt: datetime


class Seed001Auth(BaseModel):
    success: bool = True
    message: str
    token: str
    refreshToken: str | None = None
    user: Seed001User
    expiresIn: int


class Seed001Signup(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field("", max_length=200)
    email: Email
    password: NewPassword


class Seed001Login(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: LoginEmail
    password: str = Field(max_length=4096)


class Seed001Refresh(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    refreshToken: str | None = Field(None, max_length=4096)


def seed_user(user: User) -> Seed001User:
    """Seed 001's user shape; `tokens` is the available credit balance (the ledger's sum)."""
    return Seed001User(
        id=user.id,
        name=user.name,
        email=user.email,
        tokens=user.credits,
        isVerified=user.is_verified,
        subscription=user.subscription,
        createdAt=user.created_at,
        updatedAt=user.updated_at,
    )


def _auth(c: Container, user: User, message: str, token: str, refresh: str | None) -> Seed001Auth:
    return Seed001Auth(
        message=message,
        token=token,
        refreshToken=refresh,
        user=seed_user(user),
        expiresIn=c.settings.security.access_token_ttl_s,
    )


def _signed(c: Container, signed: service.SignedIn, message: str) -> Seed001Auth:
    return _auth(c, signed.user, message, signed.access, signed.refresh)


@router.post("/api/signup", response_model=Seed001Auth, dependencies=[CarriesCredential])
async def signup(
    body: Seed001Signup, request: Request, c: ContainerDep, session: SessionDep
) -> Seed001Auth:
    """Create a user account (initial credit balance from TOKENS_TO_GIVE)."""
    signed = await sign_up(c, session, request, body.email, body.password, body.name)
    return _signed(c, signed, "User created successfully")


@router.post("/api/login", response_model=Seed001Auth, dependencies=[CarriesCredential])
async def login(
    body: Seed001Login, request: Request, c: ContainerDep, session: SessionDep
) -> Seed001Auth:
    """Authenticate and receive a JWT."""
    signed = await sign_in(c, session, request, body.email, body.password)
    return _signed(c, signed, "Login successful")


@router.get("/api/me", response_model=Seed001User)
async def me(p: CurrentPrincipal, session: SessionDep) -> Seed001User:
    """The current user's profile."""
    user = await session.get(User, p.user_id)
    if user is None:
        raise UserNotFound("no such user")
    return seed_user(user)


@router.post("/api/refresh-token", response_model=Seed001Auth, dependencies=[CarriesCredential])
async def refresh_token(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    body: Annotated[Seed001Refresh | None, Body()] = None,
) -> Seed001Auth:
    """A new token: from a refresh token in the body (rotated), or from a still-valid access token.

    The second form is seed 001's. Either way the sign-in session must still be live (not logged
    out, not ended by a password change, a refresh reuse or a disabled account); the new token
    belongs to the same session and keeps its sign-in time, so a session cannot be stretched
    past the refresh-token lifetime that way.
    """
    if body is not None and body.refreshToken:
        signed = await service.rotate(session, c.tokens, body.refreshToken, client_ip(request))
        return _signed(c, signed, "Token refreshed successfully")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        claims = verify(c.tokens, token.strip(), "access") if scheme.lower() == "bearer" else None
    except InvalidToken as exc:
        raise InvalidTokenError("access token is not valid") from exc
    if claims is None:
        raise InvalidTokenError("send a refresh token or a valid bearer token")
    live = await sessions.live(session, claims.session_id, claims.sub)
    if live is None:
        raise InvalidTokenError("the session has ended or the account is not active")
    auth, current = live
    auth_time = int(auth.created_at.timestamp())
    if utcnow().timestamp() - auth_time > c.settings.security.refresh_token_ttl_s:
        raise InvalidTokenError("session is too old; sign in again")
    access, _ = issue(
        c.tokens, current.id, "access", role=current.role, auth_time=auth_time, sid=auth.id
    )
    return _auth(c, current, "Token refreshed successfully", access, None)
