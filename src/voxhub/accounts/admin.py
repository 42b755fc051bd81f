"""Admin use cases on accounts: list users, disable and enable them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts import sessions
from voxhub.accounts.models import User
from voxhub.accounts.service import normalise_email
from voxhub.accounts.sessions import Ended
from voxhub.audit import service as audit
from voxhub.core.clock import utcnow
from voxhub.core.errors import Conflict, UserNotFound


class CannotDisableSelf(Conflict):
    code = "cannot_disable_self"
    title = "You cannot disable your own account"


async def list_users(session: AsyncSession, limit: int = 100, offset: int = 0) -> list[User]:
    """Users, oldest first."""
    rows = await session.scalars(
        select(User).order_by(User.created_at, User.id).limit(limit).offset(offset)
    )
    return list(rows)


async def user_by_email(session: AsyncSession, email: str) -> User:
    """The user with this email; `UserNotFound` otherwise."""
    user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise UserNotFound(f"no user {normalise_email(email)}")
    return user


async def set_disabled(
    session: AsyncSession,
    user_id: str,
    disabled: bool,
    *,
    actor_id: str | None,
    ip: str | None = None,
    via: str = "api",
) -> User:
    """Disable (ending every session at once) or enable an account; one commit.

    A disabled user's API keys are refused while the flag is set and work again once enabled;
    their sessions stay ended, so they sign in again.
    """
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    if disabled and actor_id == user.id:
        raise CannotDisableSelf("an admin cannot disable their own account")
    ended: list[str] = []
    if disabled:
        ended = await sessions.revoke_all(session, user.id, Ended.disabled)
    if user.disabled != disabled:
        user.disabled = disabled
        user.updated_at = utcnow()
    audit.record(
        session,
        "user_disabled" if disabled else "user_enabled",
        actor_id=actor_id,
        target_type="user",
        target_id=user.id,
        ip=ip,
        via=via,
        sessions_ended=len(ended),
    )
    await session.commit()
    return user
