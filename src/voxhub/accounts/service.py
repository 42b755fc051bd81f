"""Account use cases: sign up, log in, rotate refresh tokens, log out, change passwords.

Each use case is one unit of work on the caller's session with one commit at its end: the audit
event, the sign-in session and its tokens (and the request's idempotency claim, which the
request's session adds on that commit) are stored together or not at all. What must outlive a
refusal (a failed login, a detected reuse) is committed apart (`voxhub.accounts.apart`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from voxhub.accounts import passwords, sessions
from voxhub.accounts.apart import apart
from voxhub.accounts.models import AuthSession, RefreshToken, Role, User
from voxhub.accounts.sessions import Ended
from voxhub.accounts.tokens import InvalidToken, TokenConfig, fingerprint, issue, verify
from voxhub.audit import service as audit
from voxhub.core.clock import utcnow
from voxhub.core.errors import Conflict, InvalidCredentials, InvalidTokenError
from voxhub.credits import ledger

LOGIN_LINK_TTL_S = 900


@dataclass(frozen=True)
class SignedIn:
    user: User
    access: str
    refresh: str


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively."""
    return email.strip().lower()


async def add_user(
    session: AsyncSession,
    email: str,
    password: str,
    name: str,
    credits: int,
    role: Role = Role.user,
    ip: str | None = None,
) -> User:
    """A new user and its signup event, flushed, not committed; `Conflict` if the email is taken."""
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        role=role,
        credits=0,
        password_hash=await asyncio.to_thread(passwords.hash_password, password),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("an account with this email already exists", field="email") from exc
    await grant_starting_credits(session, user, credits)
    audit.record(
        session,
        "signup",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=ip,
        role=str(role),
    )
    return user


async def grant_starting_credits(session: AsyncSession, user: User, credits: int) -> None:
    """The sign-up gift, as a ledger entry: the balance equals the sum of the user's entries
    from the first moment."""
    if credits > 0:
        balance = await ledger.grant(session, user.id, credits, "signup")
        set_committed_value(user, "credits", balance)  # the UPDATE bypassed the loaded row


async def signup(
    session: AsyncSession,
    email: str,
    password: str,
    name: str,
    credits: int,
    role: Role = Role.user,
    ip: str | None = None,
) -> User:
    """A new user with the starting credit balance, not signed in (the CLI, tests)."""
    user = await add_user(session, email, password, name, credits, role, ip)
    await session.commit()
    return user


async def register(
    session: AsyncSession,
    cfg: TokenConfig,
    email: str,
    password: str,
    name: str,
    credits: int,
    ip: str | None = None,
) -> SignedIn:
    """Sign up and sign in: the user, its event, a session and its tokens in one commit."""
    user = await add_user(session, email, password, name, credits, ip=ip)
    access, refresh = _mint(session, cfg, user, sessions.open_session(session, user.id))
    await session.commit()
    return SignedIn(user, access, refresh)


async def login(
    session: AsyncSession, cfg: TokenConfig, email: str, password: str, ip: str | None
) -> SignedIn:
    """Password sign-in; the same error (and time) for every failure, each failure audited."""
    user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    # argon2 costs tens of milliseconds of CPU: never on the event loop.
    ok = await asyncio.to_thread(
        passwords.verify_password, user.password_hash if user else None, password
    )
    if user is None or not ok or user.disabled:
        async with apart(session) as side:
            audit.record(
                side,
                "login_failed",
                actor_id=user.id if user else None,
                ip=ip,
                outcome="failed",
                email_hash=fingerprint(normalise_email(email))[:16],
            )
            await side.commit()
        raise InvalidCredentials("wrong email or password")
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(passwords.hash_password, password)
    audit.record(session, "login", actor_id=user.id, target_type="user", target_id=user.id, ip=ip)
    access, refresh = _mint(session, cfg, user, sessions.open_session(session, user.id))
    await session.commit()
    return SignedIn(user, access, refresh)


def _mint(
    session: AsyncSession, cfg: TokenConfig, user: User, auth: AuthSession
) -> tuple[str, str]:
    """An access token and a refresh token of session `auth` (the refresh token added)."""
    auth_time = int(auth.created_at.timestamp())
    access, _ = issue(cfg, user.id, "access", role=user.role, auth_time=auth_time, sid=auth.id)
    return access, _add_refresh(session, cfg, user.id, auth.id)


def _add_refresh(
    session: AsyncSession, cfg: TokenConfig, user_id: str, family: str, ttl_s: int | None = None
) -> str:
    token, claims = issue(cfg, user_id, "refresh", ttl_s=ttl_s, fam=family)
    session.add(
        RefreshToken(
            id=claims.jti,
            user_id=user_id,
            family_id=family,
            token_hash=fingerprint(token),
            expires_at=claims.exp,
        )
    )
    return token


def add_login_link(session: AsyncSession, cfg: TokenConfig, user: User) -> str:
    """A short-lived, single-use refresh token of a new session, for a login link (uncommitted)."""
    auth = sessions.open_session(session, user.id)
    token = _add_refresh(session, cfg, user.id, auth.id, ttl_s=LOGIN_LINK_TTL_S)
    audit.record(
        session, "login_link_issued", actor_id=user.id, target_type="user", target_id=user.id
    )
    return token


async def _refresh_row(session: AsyncSession, cfg: TokenConfig, token: str) -> RefreshToken:
    try:
        claims = verify(cfg, token, "refresh")
    except InvalidToken as exc:
        raise InvalidTokenError("refresh token is not valid") from exc
    row = await session.get(RefreshToken, claims.jti)
    if row is None or row.token_hash != fingerprint(token) or row.family_id != claims.session_id:
        raise InvalidTokenError("refresh token is not valid")
    return row


async def rotate(
    session: AsyncSession, cfg: TokenConfig, refresh_token: str, ip: str | None
) -> SignedIn:
    """Exchange a refresh token for a new pair in the same session; a reuse ends the session."""
    row = await _refresh_row(session, cfg, refresh_token)
    token_id, family, user_id = row.id, row.family_id, row.user_id
    if row.revoked_at is not None:
        raise InvalidTokenError("refresh token was revoked")
    if row.used_at is not None:
        await _revoke_for_reuse(session, token_id, ip)
        raise InvalidTokenError("refresh token was already used")
    # Claim the token atomically: of two exchanges racing with it, only one updates the row.
    res = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token_id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    if getattr(res, "rowcount", 0) != 1:
        # The loser of that race presented a token someone else has just spent: a reuse.
        await session.rollback()
        await _revoke_for_reuse(session, token_id, ip)
        raise InvalidTokenError("refresh token was already used")
    live = await sessions.live(session, family, user_id)
    if live is None:
        await session.rollback()
        raise InvalidTokenError("the session has ended or the account is not active")
    auth, user = live
    access, refresh = _mint(session, cfg, user, auth)
    await session.commit()
    return SignedIn(user, access, refresh)


async def _end_session(
    session: AsyncSession, row: RefreshToken, reason: Ended, action: str, ip: str | None
) -> None:
    """Revoke the token's session and record why (uncommitted)."""
    await sessions.revoke(session, row.family_id, reason)
    audit.record(
        session,
        action,
        actor_id=row.user_id,
        ip=ip,
        target_type="auth_session",
        target_id=row.family_id,
    )


async def _revoke_for_reuse(session: AsyncSession, token_id: str, ip: str | None) -> None:
    """End the token's session in a transaction of its own: committed though the request fails."""
    async with apart(session) as side:
        row = await side.get(RefreshToken, token_id)
        # Reuse of a token already revoked (its session ended before) needs no second revocation.
        if row is None or row.used_at is None or row.revoked_at is not None:
            return
        await _end_session(side, row, Ended.refresh_reuse, "refresh_reuse_detected", ip)
        await side.commit()


async def logout(
    session: AsyncSession, cfg: TokenConfig, refresh_token: str, ip: str | None = None
) -> None:
    """End the session the refresh token belongs to; unknown tokens are ignored."""
    try:
        row = await _refresh_row(session, cfg, refresh_token)
    except InvalidTokenError:
        return
    await _end_session(session, row, Ended.logout, "logout", ip)
    await session.commit()


async def change_password(
    session: AsyncSession, user: User, old: str, new: str, ip: str | None
) -> None:
    """Change the password and end every session of the user, the caller's own included.

    Whoever holds a token minted under the old password signs in again with the new one; API
    keys are separate credentials and stay valid (revoke them one by one).
    """
    if not await asyncio.to_thread(passwords.verify_password, user.password_hash, old):
        raise InvalidCredentials("current password is wrong")
    user.password_hash = await asyncio.to_thread(passwords.hash_password, new)
    user.updated_at = utcnow()
    ended = await sessions.revoke_all(session, user.id, Ended.password_changed)
    audit.record(
        session,
        "password_changed",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=ip,
        sessions_ended=len(ended),
    )
    await session.commit()


async def count_users(session: AsyncSession) -> int:
    """How many accounts exist."""
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)
