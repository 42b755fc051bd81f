"""API keys: created (shown once), listed, revoked; stored as sha256 with a visible prefix."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.models import ApiKey, User
from voxhub.accounts.principal import Principal
from voxhub.accounts.tokens import fingerprint, new_api_key
from voxhub.audit import service as audit
from voxhub.core.clock import utcnow
from voxhub.core.errors import InvalidInput, NotFound

MAX_KEYS_PER_USER = 50


async def add_key(
    session: AsyncSession, user_id: str, name: str, ip: str | None = None
) -> tuple[ApiKey, str]:
    """A new key and its audit event, flushed but not committed; the plain key is returned once."""
    plain, prefix = new_api_key()
    key = ApiKey(user_id=user_id, name=name.strip(), prefix=prefix, key_hash=fingerprint(plain))
    session.add(key)
    await session.flush()
    audit.record(
        session,
        "api_key_created",
        actor_id=user_id,
        target_type="api_key",
        target_id=key.id,
        ip=ip,
        prefix=prefix,
    )
    return key, plain


async def create_key(
    session: AsyncSession, p: Principal, name: str, ip: str | None = None
) -> tuple[ApiKey, str]:
    """A new key for the caller; the plain key is returned once and never stored."""
    active = await list_keys(session, p)
    if len(active) >= MAX_KEYS_PER_USER:
        raise InvalidInput(f"at most {MAX_KEYS_PER_USER} active keys per user")
    key, plain = await add_key(session, p.user_id, name, ip)
    await session.commit()
    return key, plain


async def list_keys(session: AsyncSession, p: Principal) -> list[ApiKey]:
    """The caller's keys that are not revoked."""
    rows = await session.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == p.user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc())
    )
    return list(rows)


async def revoke_key(
    session: AsyncSession, p: Principal, key_id: str, ip: str | None = None
) -> None:
    """Revoke one of the caller's keys (another user's key looks missing)."""
    key = await session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None or key.user_id != p.user_id:
        raise NotFound(f"no api key {key_id}")
    key.revoked_at = utcnow()
    audit.record(
        session,
        "api_key_revoked",
        actor_id=p.user_id,
        target_type="api_key",
        target_id=key.id,
        ip=ip,
    )
    await session.commit()


async def user_for_key(session: AsyncSession, plain: str) -> User | None:
    """The user owning this key, if the key is not revoked and the user not disabled."""
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == fingerprint(plain)))
    if key is None or key.revoked_at is not None:
        return None
    user = await session.get(User, key.user_id)
    if user is None or user.disabled:
        return None
    return user
