"""/api/v1/auth/web: the web app's sign-in, with the tokens in cookies (see `web_session`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel

from voxhub.accounts import service, web_session
from voxhub.accounts.deps import client_ip
from voxhub.accounts.router import NO_STORE, sign_in, sign_up
from voxhub.accounts.schemas import LoginLinkRequest, LoginRequest, SignupRequest, UserRead
from voxhub.accounts.tokens import InvalidToken, verify
from voxhub.api.deps import CarriesCredential, ContainerDep, SessionDep
from voxhub.container import Container
from voxhub.core.errors import CsrfFailed, InvalidTokenError

router = APIRouter(prefix="/api/v1/auth/web", tags=["accounts"])


class WebSession(BaseModel):
    """A browser signed in: the tokens are in httpOnly cookies; this is what the page may know."""

    user: UserRead
    csrf_token: str
    expires_in: int


def _hand_over(
    c: Container, request: Request, response: Response, signed: service.SignedIn
) -> WebSession:
    sec = c.settings.security
    session_id = verify(c.tokens, signed.access, "access").session_id
    csrf = web_session.csrf_for(c.tokens, session_id)
    web_session.set_cookies(
        response,
        request,
        hardened=sec.cookie_secure,
        access=signed.access,
        refresh=signed.refresh,
        csrf=csrf,
        access_ttl_s=sec.access_token_ttl_s,
        refresh_ttl_s=sec.refresh_token_ttl_s,
    )
    response.headers.update(NO_STORE)
    return WebSession(
        user=UserRead.model_validate(signed.user),
        csrf_token=csrf,
        expires_in=sec.access_token_ttl_s,
    )


def _refresh_cookie(c: Container, request: Request) -> str:
    """The refresh cookie of a request that also proves it came from the page (CSRF)."""
    refresh = web_session.names(c.settings.security.cookie_secure).refresh
    token = web_session.cookie(request.headers, refresh)
    if token is None:
        raise InvalidTokenError("not signed in")
    try:
        session_id = verify(c.tokens, token, "refresh").session_id
    except InvalidToken as exc:
        raise InvalidTokenError("the sign-in has expired: sign in again") from exc
    if not web_session.csrf_holds(c.tokens, session_id, request.headers):
        raise CsrfFailed("send the X-CSRF-Token header with the value of the vxh_csrf cookie")
    return token


@router.post("/signup", status_code=status.HTTP_201_CREATED, dependencies=[CarriesCredential])
async def web_signup(
    body: SignupRequest, request: Request, response: Response, c: ContainerDep, session: SessionDep
) -> WebSession:
    """Create an account and sign this browser in."""
    signed = await sign_up(c, session, request, body.email, body.password, body.name)
    return _hand_over(c, request, response, signed)


@router.post("/login", dependencies=[CarriesCredential])
async def web_login(
    body: LoginRequest, request: Request, response: Response, c: ContainerDep, session: SessionDep
) -> WebSession:
    """Sign this browser in with email and password."""
    signed = await sign_in(c, session, request, body.email, body.password)
    return _hand_over(c, request, response, signed)


@router.post("/login-link", dependencies=[CarriesCredential])
async def web_login_link(
    body: LoginLinkRequest,
    request: Request,
    response: Response,
    c: ContainerDep,
    session: SessionDep,
) -> WebSession:
    """Sign this browser in with the one-time link printed on first start."""
    signed = await service.rotate(session, c.tokens, body.token, client_ip(request))
    return _hand_over(c, request, response, signed)


@router.post("/refresh", dependencies=[CarriesCredential])
async def web_refresh(
    request: Request, response: Response, c: ContainerDep, session: SessionDep
) -> WebSession:
    """New cookies for the refresh cookie (rotated: reusing an old one ends the session)."""
    token = _refresh_cookie(c, request)
    signed = await service.rotate(session, c.tokens, token, client_ip(request))
    return _hand_over(c, request, response, signed)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def web_logout(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    """Sign this browser out: its session ends and the cookies are cleared."""
    done = Response(status_code=status.HTTP_204_NO_CONTENT)
    try:
        token = _refresh_cookie(c, request)  # a wrong CSRF token is refused: no forced sign-out
    except InvalidTokenError:
        pass  # nothing live to end (expired or absent): the cookies go all the same
    else:
        await service.logout(session, c.tokens, token, client_ip(request))
    web_session.clear_cookies(done, c.settings.security.cookie_secure)
    return done
