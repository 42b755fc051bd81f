"""Browser sign-in: the tokens travel in httpOnly cookies, never where page script can read them.

The access cookie goes with every same-site request (media elements and EventSource cannot send
an Authorization header), so a state-changing request made with it must also carry
`X-CSRF-Token`: an HMAC of the sign-in session id, which only a page that read the readable CSRF
cookie can send. Cookies are per host, not per port: any service on the same host name can read
that cookie, so voxhub should have a host name of its own.

With `VOXHUB_COOKIE_SECURE=true` (set it whenever users reach voxhub over HTTPS, including behind
a TLS proxy) the cookies are Secure and named `__Host-` (access, CSRF) and `__Secure-` (refresh):
the browser then refuses such cookies from a sibling subdomain, which could otherwise plant its
own signed-in pair and have the victim work inside the attacker's account.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import Request, Response
from starlette.requests import cookie_parser

from voxhub.accounts.tokens import TokenConfig


@dataclass(frozen=True)
class CookieNames:
    access: str
    refresh: str
    csrf: str


PLAIN = CookieNames("vxh_access", "vxh_refresh", "vxh_csrf")
HARDENED = CookieNames("__Host-vxh_access", "__Secure-vxh_refresh", "__Host-vxh_csrf")
CSRF_HEADER = "x-csrf-token"
# The refresh cookie goes only to the routes that rotate or end it.
REFRESH_PATH = "/api/v1/auth/web"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def names(hardened: bool) -> CookieNames:
    """The cookies' names: prefixed when the deployment is served over HTTPS."""
    return HARDENED if hardened else PLAIN


def csrf_for(cfg: TokenConfig, session_id: str) -> str:
    """The CSRF token of one sign-in session."""
    return hmac.new(cfg.secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def csrf_holds(cfg: TokenConfig, session_id: str, headers: Mapping[str, str]) -> bool:
    """Whether the request carries this session's CSRF token."""
    sent = headers.get(CSRF_HEADER, "")
    return hmac.compare_digest(sent.encode(), csrf_for(cfg, session_id).encode())


def cookie(headers: Mapping[str, str], name: str) -> str | None:
    """One cookie's value from the request headers, None when absent. Parsed as browsers send
    them: one odd cookie of another app on this host does not hide the others."""
    raw = headers.get("cookie")
    return cookie_parser(raw).get(name) or None if raw else None


def set_cookies(
    response: Response,
    request: Request,
    *,
    hardened: bool,
    access: str,
    refresh: str,
    csrf: str,
    access_ttl_s: int,
    refresh_ttl_s: int,
) -> None:
    """Hand the browser a signed-in session (Secure when hardened or the page came over HTTPS)."""
    n = names(hardened)
    secure = hardened or request.url.scheme == "https"
    response.set_cookie(
        n.access,
        access,
        max_age=access_ttl_s,
        path="/",
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    response.set_cookie(
        n.refresh,
        refresh,
        max_age=refresh_ttl_s,
        path=REFRESH_PATH,
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    # Readable by the page on purpose: it echoes it in X-CSRF-Token. Lives as long as the session.
    response.set_cookie(
        n.csrf, csrf, max_age=refresh_ttl_s, path="/", secure=secure, samesite="strict"
    )


def clear_cookies(response: Response, hardened: bool) -> None:
    """Forget the browser's session."""
    n = names(hardened)
    response.delete_cookie(n.access, path="/", secure=hardened)
    response.delete_cookie(n.refresh, path=REFRESH_PATH, secure=hardened)
    response.delete_cookie(n.csrf, path="/", secure=hardened)
