"""Account request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, WithJsonSchema

# email-validator refuses special-use domains (RFC 6761), dotless ones and addresses over 254
# characters; the schema says so, so that what it allows is what signup accepts.
SPECIAL_USE = "arpa|invalid|local|localhost|onion|test"
Email = Annotated[
    EmailStr,
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": 254,
            "pattern": rf"@(?!(?:[^@]*\.)?(?:{SPECIAL_USE})$)[^@]*\.[^@]+$",
        }
    ),
]
# Any login attempt gets the same 401 when it does not match, whatever the email looks like.
LoginEmail = Annotated[str, Field(max_length=320)]
# argon2 takes at most MAX_PASSWORD_BYTES (1024) bytes; 256 characters never exceed that.
NewPassword = Annotated[str, Field(min_length=8, max_length=256)]


class Strict(BaseModel):
    # JSON has booleans and numbers: 0 is not false here, nor "5" a number.
    model_config = ConfigDict(extra="forbid", strict=True)


class SignupRequest(Strict):
    email: Email
    password: NewPassword
    name: str = Field("", max_length=200)


class LoginRequest(Strict):
    email: LoginEmail
    password: str = Field(max_length=4096)


class RefreshRequest(Strict):
    refresh_token: str = Field(max_length=4096)


class PasswordChange(Strict):
    current_password: str = Field(max_length=4096)
    new_password: NewPassword


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
