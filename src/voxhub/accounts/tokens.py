"""JWTs as RFC 8725 asks: one pinned algorithm, every claim required, `typ` checked."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

from voxhub.core.clock import utcnow
from voxhub.core.ids import new_id

ALGORITHM = "HS256"
REQUIRED = ["iss", "aud", "exp", "iat", "sub", "typ", "jti"]
TokenType = Literal["access", "refresh"]
# What ties a token to its sign-in session: access tokens carry the session id, refresh tokens
# their family id (the same value). A token without it could never be revoked, so it is refused.
SESSION_CLAIM: dict[str, str] = {"access": "sid", "refresh": "fam"}


class InvalidToken(Exception):
    """The token is malformed, forged, expired or of the wrong kind."""


@dataclass(frozen=True)
class TokenConfig:
    secret: bytes
    issuer: str
    audience: str
    leeway_s: int
    access_ttl_s: int
    refresh_ttl_s: int


@dataclass(frozen=True)
class Claims:
    sub: str
    typ: TokenType
    jti: str
    exp: datetime
    extra: dict[str, Any]

    @property
    def session_id(self) -> str:
        """The sign-in session the token belongs to (checked present by `verify`)."""
        return str(self.extra[SESSION_CLAIM[self.typ]])


def issue(
    cfg: TokenConfig, sub: str, typ: TokenType, ttl_s: int | None = None, **extra: Any
) -> tuple[str, Claims]:
    """A signed token of kind `typ` for user `sub` (lifetime from settings unless `ttl_s`)."""
    now = utcnow()
    ttl = ttl_s or (cfg.access_ttl_s if typ == "access" else cfg.refresh_ttl_s)
    jti = str(extra.pop("jti", None) or new_id())
    exp = now + timedelta(seconds=ttl)
    payload = {
        "iss": cfg.issuer,
        "aud": cfg.audience,
        "sub": sub,
        "typ": typ,
        "jti": jti,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(exp.timestamp()),
        **extra,
    }
    token = jwt.encode(payload, cfg.secret, algorithm=ALGORITHM, headers={"typ": "JWT"})
    return token, Claims(sub, typ, jti, exp, extra)


def verify(cfg: TokenConfig, token: str, typ: TokenType) -> Claims:
    """The claims of a valid token of kind `typ`; `InvalidToken` for anything else."""
    try:
        payload = jwt.decode(
            token,
            cfg.secret,
            algorithms=[ALGORITHM],
            audience=cfg.audience,
            issuer=cfg.issuer,
            leeway=cfg.leeway_s,
            options={"require": REQUIRED, "verify_signature": True},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if payload.get("typ") != typ:
        raise InvalidToken(f"expected a {typ} token")
    if not isinstance(payload.get("sub"), str) or not payload["sub"]:
        raise InvalidToken("bad subject")
    session_id = payload.get(SESSION_CLAIM[typ])
    if not isinstance(session_id, str) or not session_id:
        raise InvalidToken("the token names no sign-in session")
    known = set(REQUIRED) | {"nbf"}
    extra = {k: v for k, v in payload.items() if k not in known}
    exp = datetime.fromtimestamp(payload["exp"], UTC)
    return Claims(payload["sub"], typ, str(payload["jti"]), exp, extra)


def fingerprint(secret_value: str) -> str:
    """sha256 of a token or key: what the database keeps instead of the secret."""
    return hashlib.sha256(secret_value.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """A fresh API key and its visible prefix (`vxh_` + 8 characters)."""
    body = secrets.token_urlsafe(32)
    key = f"vxh_{body}"
    return key, key[:12]
