"""Account use cases: sign up, log in, rotate refresh tokens, change passwords."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts import passwords
from voxhub.accounts.models import RefreshToken, Role, User
from voxhub.accounts.tokens import InvalidToken, TokenConfig, fingerprint, issue, verify
from voxhub.audit import service as audit
from voxhub.core.clock import utcnow
from voxhub.core.errors import Conflict, InvalidCredentials, InvalidTokenError
from voxhub.core.ids import new_id


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively."""
    return email.strip().lower()


async def signup(
    session: AsyncSession,
    email: str,
    password: str,
    name: str,
    credits: int,
    role: Role = Role.user,
    ip: str | None = None,
) -> User:
    """A new user with the starting credit balance."""
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        role=role,
        credits=credits,
        password_hash=await asyncio.to_thread(passwords.hash_password, password),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("an account with this email already exists", field="email") from exc
    audit.record(
        session,
        "signup",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=ip,
        role=str(role),
    )
    await session.commit()
    return user


async def authenticate(session: AsyncSession, email: str, password: str, ip: str | None) -> User:
    """The user these credentials belong to; the same error (and time) for every failure."""
    user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    # argon2 costs tens of milliseconds of CPU: never on the event loop.
    ok = await asyncio.to_thread(
        passwords.verify_password, user.password_hash if user else None, password
    )
    if user is None or not ok or user.disabled:
        audit.record(
            session,
            "login_failed",
            actor_id=user.id if user else None,
            ip=ip,
            email_hash=fingerprint(normalise_email(email))[:16],
        )
        await session.commit()
        raise InvalidCredentials("wrong email or password")
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(passwords.hash_password, password)
    audit.record(session, "login", actor_id=user.id, target_type="user", target_id=user.id, ip=ip)
    await session.commit()
    return user


async def issue_tokens(
    session: AsyncSession, cfg: TokenConfig, user: User, family_id: str | None = None
) -> tuple[str, str]:
    """An access token and a refresh token (in `family_id`, or a new family); commits."""
    now = int(utcnow().timestamp())
    access, _ = issue(cfg, user.id, "access", role=user.role, auth_time=now)
    refresh, claims = issue(cfg, user.id, "refresh", fam=family_id or new_id())
    session.add(
        RefreshToken(
            id=claims.jti,
            user_id=user.id,
            family_id=claims.extra["fam"],
            token_hash=fingerprint(refresh),
            expires_at=claims.exp,
        )
    )
    await session.commit()
    return access, refresh


async def login_link_token(
    session: AsyncSession, cfg: TokenConfig, user: User, ttl_s: int = 900
) -> str:
    """A short-lived, single-use refresh token to put in a login link; commits."""
    token, claims = issue(cfg, user.id, "refresh", ttl_s=ttl_s, fam=new_id())
    session.add(
        RefreshToken(
            id=claims.jti,
            user_id=user.id,
            family_id=claims.extra["fam"],
            token_hash=fingerprint(token),
            expires_at=claims.exp,
        )
    )
    audit.record(
        session, "login_link_issued", actor_id=user.id, target_type="user", target_id=user.id
    )
    await session.commit()
    return token


async def rotate(
    session: AsyncSession, cfg: TokenConfig, refresh_token: str, ip: str | None
) -> tuple[User, str, str]:
    """Exchange a refresh token for a new pair; a reused one revokes its whole family."""
    try:
        claims = verify(cfg, refresh_token, "refresh")
    except InvalidToken as exc:
        raise InvalidTokenError("refresh token is not valid") from exc
    row = await session.get(RefreshToken, claims.jti)
    if row is None or row.token_hash != fingerprint(refresh_token):
        raise InvalidTokenError("refresh token is not valid")
    now = utcnow()
    if row.revoked_at is not None or row.used_at is not None:
        if row.used_at is not None and row.revoked_at is None:
            await revoke_family(session, row.family_id)
            audit.record(
                session,
                "refresh_reuse_detected",
                actor_id=row.user_id,
                ip=ip,
                target_type="refresh_family",
                target_id=row.family_id,
            )
            await session.commit()
        raise InvalidTokenError("refresh token was already used or revoked")
    # Claim the token atomically, so two concurrent refreshes cannot both succeed.
    res = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    if getattr(res, "rowcount", 0) != 1:
        await session.rollback()
        raise InvalidTokenError("refresh token was already used")
    user = await session.get(User, row.user_id)
    if user is None or user.disabled:
        await session.rollback()
        raise InvalidTokenError("account is not active")
    access, refresh = await issue_tokens(session, cfg, user, family_id=row.family_id)
    return user, access, refresh


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    """Revoke every token of a refresh family (uncommitted)."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def logout(session: AsyncSession, cfg: TokenConfig, refresh_token: str) -> None:
    """End the session the refresh token belongs to; unknown tokens are ignored."""
    try:
        claims = verify(cfg, refresh_token, "refresh")
    except InvalidToken:
        return
    row = await session.get(RefreshToken, claims.jti)
    if row is not None and row.token_hash == fingerprint(refresh_token):
        await revoke_family(session, row.family_id)
        audit.record(session, "logout", actor_id=row.user_id)
        await session.commit()


async def change_password(
    session: AsyncSession, user: User, old: str, new: str, ip: str | None
) -> None:
    """Change the password and sign out every other session."""
    if not await asyncio.to_thread(passwords.verify_password, user.password_hash, old):
        raise InvalidCredentials("current password is wrong")
    user.password_hash = await asyncio.to_thread(passwords.hash_password, new)
    user.updated_at = utcnow()
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    audit.record(
        session, "password_changed", actor_id=user.id, target_type="user", target_id=user.id, ip=ip
    )
    await session.commit()


async def count_users(session: AsyncSession) -> int:
    """How many accounts exist."""
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)
