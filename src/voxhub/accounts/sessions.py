"""Sign-in sessions: opened by a login, checked on every use of its tokens, revoked as a whole.

Nothing here commits: each use case adds these steps to its own unit of work, so a revocation
and its audit event are stored together or not at all.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.models import AuthSession, RefreshToken, User
from voxhub.accounts.tokens import TokenConfig, verify
from voxhub.core.clock import utcnow
from voxhub.core.ids import new_id


class Ended(StrEnum):
    """Why a session was revoked (`auth_sessions.revoked_reason`)."""

    logout = "logout"
    password_changed = "password_changed"  # noqa: S105  (a reason, not a password)
    refresh_reuse = "refresh_reuse"
    disabled = "disabled"


def open_session(session: AsyncSession, user_id: str) -> AuthSession:
    """A new live sign-in session for the user (added, not committed)."""
    # created_at set now, not at flush: it is the sign-in time the tokens carry (`auth_time`).
    row = AuthSession(id=new_id(), user_id=user_id, created_at=utcnow())
    session.add(row)
    return row


async def live(
    session: AsyncSession, session_id: str, user_id: str
) -> tuple[AuthSession, User] | None:
    """The session and its user, if it is `user_id`'s, not revoked, and they are not disabled."""
    row = await session.get(AuthSession, session_id)
    if row is None or row.revoked_at is not None or row.user_id != user_id:
        return None
    user = await session.get(User, user_id)
    if user is None or user.disabled:
        return None
    return row, user


async def user_of_access_token(session: AsyncSession, cfg: TokenConfig, token: str) -> str | None:
    """The user behind a voxhub access token whose session is live; None once it has ended.

    Raises `InvalidToken` when it is no valid voxhub access token at all (perhaps an external
    identity token), for callers that treat those differently.
    """
    claims = verify(cfg, token, "access")
    found = await live(session, claims.session_id, claims.sub)
    return found[1].id if found else None


async def revoke(session: AsyncSession, session_id: str, reason: Ended) -> None:
    """End one session and every refresh token of its family."""
    now = utcnow()
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=str(reason), updated_at=now)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == session_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_all(session: AsyncSession, user_id: str, reason: Ended) -> list[str]:
    """End every live session of the user; returns their ids (for the audit event)."""
    ids = list(
        await session.scalars(
            select(AuthSession.id).where(
                AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
            )
        )
    )
    now = utcnow()
    await session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=str(reason), updated_at=now)
    )
    # By user, not by family: a family without a session row (none should exist) dies too.
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return ids
