"""Browser sign-in: the tokens travel in httpOnly cookies, never where page script can read them.

The access cookie goes with every same-site request (media elements and EventSource cannot send
an Authorization header), so a state-changing request made with it must also carry
`X-CSRF-Token`: an HMAC of the sign-in session id, which only a page that read the readable
`vxh_csrf` cookie (same origin) can send. It is signed rather than random so a cookie planted by
a sibling subdomain cannot pass for it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie

from fastapi import Request, Response

from voxhub.accounts.tokens import TokenConfig

ACCESS_COOKIE = "vxh_access"
REFRESH_COOKIE = "vxh_refresh"
CSRF_COOKIE = "vxh_csrf"
CSRF_HEADER = "x-csrf-token"
# The refresh cookie goes only to the routes that rotate or end it.
REFRESH_PATH = "/api/v1/auth/web"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_for(cfg: TokenConfig, session_id: str) -> str:
    """The CSRF token of one sign-in session."""
    return hmac.new(cfg.secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def csrf_holds(cfg: TokenConfig, session_id: str, headers: Mapping[str, str]) -> bool:
    """Whether the request carries this session's CSRF token."""
    sent = headers.get(CSRF_HEADER, "")
    return hmac.compare_digest(sent.encode(), csrf_for(cfg, session_id).encode())


def cookie(headers: Mapping[str, str], name: str) -> str | None:
    """One cookie's value from the request headers; None when absent or the header is garbled."""
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


def set_cookies(
    response: Response,
    request: Request,
    *,
    access: str,
    refresh: str,
    csrf: str,
    access_ttl_s: int,
    refresh_ttl_s: int,
) -> None:
    """Hand the browser a signed-in session (Secure whenever the page came over HTTPS)."""
    secure = request.url.scheme == "https"
    response.set_cookie(
        ACCESS_COOKIE,
        access,
        max_age=access_ttl_s,
        path="/",
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    response.set_cookie(
        REFRESH_COOKIE,
        refresh,
        max_age=refresh_ttl_s,
        path=REFRESH_PATH,
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    # Readable by the page on purpose: it echoes it in X-CSRF-Token. Lives as long as the session.
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=refresh_ttl_s, path="/", secure=secure, samesite="strict"
    )


def clear_cookies(response: Response) -> None:
    """Forget the browser's session."""
    response.delete_cookie(ACCESS_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH)
    response.delete_cookie(CSRF_COOKIE, path="/")
