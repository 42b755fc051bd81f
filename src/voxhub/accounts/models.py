"""Users and their credentials."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.db.base import Base, IdMixin, TimestampMixin


class Role(StrEnum):
    user = "user"  # owns and uses their own objects, reads public ones
    admin = "admin"  # may change anything, read the audit log, manage users


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # None for users who only sign in through an external identity provider.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.user)
    # Seed 001 calls the credit balance "tokens".
    credits: Mapped[int] = mapped_column(Integer, default=0)
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    subscription: Mapped[str] = mapped_column(String(32), default="free")
    # "issuer|subject" of an external identity (OIDC, Firebase), unique when present.
    external_id: Mapped[str | None] = mapped_column(String(512), unique=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class AuthSession(TimestampMixin, Base):
    """One sign-in: its refresh tokens form one family and its access tokens carry its id (`sid`).

    Revoking the session (logout, password change, reuse detection, a disabled account) ends
    every token minted from it at once.
    """

    __tablename__ = "auth_sessions"

    # The same value as the refresh family id of its refresh tokens.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Why it ended: "logout", "password_changed", "refresh_reuse", "disabled", ...
    revoked_reason: Mapped[str | None] = mapped_column(String(32), default=None)


class RefreshToken(IdMixin, TimestampMixin, Base):
    """One issued refresh token; its id is the JWT's `jti`. Only its hash is stored."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    # Set when exchanged for a new token; a second use means the token was stolen.
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiKey(IdMixin, TimestampMixin, Base):
    """A long-lived key; shown once, stored as a hash, recognisable by its prefix."""

    __tablename__ = "api_keys"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(24), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
