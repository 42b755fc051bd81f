"""Account request and response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignupRequest(Strict):
    email: EmailStr
    password: str = Field(min_length=8, max_length=4096)
    name: str = Field("", max_length=200)


class LoginRequest(Strict):
    email: EmailStr
    password: str = Field(max_length=4096)


class RefreshRequest(Strict):
    refresh_token: str = Field(max_length=4096)


class PasswordChange(Strict):
    current_password: str = Field(max_length=4096)
    new_password: str = Field(min_length=8, max_length=4096)


class LoginLinkRequest(Strict):
    token: str = Field(max_length=4096)


class UserAdminUpdate(Strict):
    disabled: bool


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    role: str
    credits: int
    is_verified: bool
    subscription: str
    created_at: datetime
    updated_at: datetime


class UserAdminRead(UserRead):
    disabled: bool


class TokenPair(BaseModel):
    """OAuth 2.0-shaped token response."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth token type, not a secret)
    expires_in: int
    user: UserRead


class ApiKeyCreate(Strict):
    name: str = Field("", max_length=100)


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself; shown only now")
