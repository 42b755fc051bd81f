"""argon2id password hashing (argon2-cffi defaults: RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from voxhub.core.errors import InvalidInput

MAX_PASSWORD_BYTES = 1024
MIN_PASSWORD_CHARS = 8
_hasher = PasswordHasher()
# Verified against when the user does not exist, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("voxhub-timing-equaliser")


def check_password_shape(password: str) -> None:
    """Refuse passwords that are too short, or so long that hashing them is a DoS vector."""
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise InvalidInput(f"password is longer than {MAX_PASSWORD_BYTES} bytes", field="password")
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(
            f"password needs at least {MIN_PASSWORD_CHARS} characters", field="password"
        )


def hash_password(password: str) -> str:
    """An argon2id hash."""
    check_password_shape(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; spends the same time when there is no hash to check."""
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
