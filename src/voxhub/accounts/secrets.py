"""The token signing key: from settings, or (in dev only) generated once and kept under home."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from voxhub.accounts.tokens import TokenConfig
from voxhub.settings import Settings

MIN_SECRET_BYTES = 32


class InsecureConfiguration(RuntimeError):
    """voxhub refuses to start like this."""


def signing_key(settings: Settings) -> bytes:
    """The HS256 key: configured (>= 32 bytes), or a random dev key persisted in `home`."""
    configured = settings.security.jwt_secret
    if configured is not None:
        key = configured.get_secret_value().encode()
        if len(key) < MIN_SECRET_BYTES:
            raise InsecureConfiguration(
                f"VOXHUB_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes of random data"
            )
        return key
    if settings.env == "prod":
        raise InsecureConfiguration("set VOXHUB_JWT_SECRET (>= 32 random bytes) in production")
    return _dev_key(settings.home / "jwt.key")


def _dev_key(path: Path) -> bytes:
    # Persisted so that a restart keeps people signed in; 0600 because it mints tokens.
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(64)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key


def token_config(settings: Settings) -> TokenConfig:
    """Token settings with the signing key resolved."""
    s = settings.security
    return TokenConfig(
        secret=signing_key(settings),
        issuer=s.jwt_issuer,
        audience=s.jwt_audience,
        leeway_s=s.jwt_leeway_s,
        access_ttl_s=s.access_token_ttl_s,
        refresh_ttl_s=s.refresh_token_ttl_s,
    )
