"""Ledger moves, each inside the caller's transaction: the job's state change and its money
commit together or not at all.

`users.credits` is the available balance. A move is one conditional UPDATE of it (so concurrent
holds can never take it below zero: the row is locked on PostgreSQL, writes are serialised on
SQLite) plus one ledger row carrying the balance after it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.accounts.models import User
from voxhub.core.errors import InsufficientCredits, UserNotFound
from voxhub.credits.models import CreditEntry, EntryKind


async def _move(session: AsyncSession, user_id: str, amount: int, *, floor: bool) -> int | None:
    """Add `amount` to the balance; None when `floor` and it would go below zero."""
    stmt = update(User).where(User.id == user_id)
    if floor and amount < 0:
        stmt = stmt.where(User.credits >= -amount)
    res = await session.execute(
        stmt.values(credits=User.credits + amount)
        .returning(User.credits)
        .execution_options(synchronize_session=False)
    )
    return res.scalar_one_or_none()


async def _balance(session: AsyncSession, user_id: str) -> int:
    balance = await session.scalar(select(User.credits).where(User.id == user_id))
    if balance is None:
        raise UserNotFound(f"no user {user_id}")
    return balance


async def hold(
    session: AsyncSession, user_id: str, job_id: str, round_: int, cost: int, reason: str
) -> None:
    """Reserve `cost` for a job; InsufficientCredits when the balance cannot cover it."""
    if cost <= 0:
        return
    balance = await _move(session, user_id, -cost, floor=True)
    if balance is None:
        available = await _balance(session, user_id)
        raise InsufficientCredits(
            f"this costs {cost} credits and the balance is {available}",
            cost=cost,
            balance=available,
        )
    session.add(
        CreditEntry(
            user_id=user_id,
            job_id=job_id,
            round=round_,
            kind=EntryKind.hold,
            amount=-cost,
            balance_after=balance,
            reason=reason,
        )
    )


async def capture(
    session: AsyncSession, user_id: str, job_id: str, round_: int, cost: int, reason: str
) -> None:
    """The job succeeded: its hold becomes the charge. The balance does not move (the hold
    already took it); the row makes a second capture of the round a unique-key violation."""
    if cost <= 0:
        return
    session.add(
        CreditEntry(
            user_id=user_id,
            job_id=job_id,
            round=round_,
            kind=EntryKind.capture,
            amount=0,
            balance_after=await _balance(session, user_id),
            reason=reason,
        )
    )
    await session.flush()


async def release(
    session: AsyncSession, user_id: str, job_id: str, round_: int, cost: int, reason: str
) -> None:
    """The job failed or was cancelled: its hold goes back to the balance."""
    if cost <= 0:
        return
    balance = await _move(session, user_id, cost, floor=False)
    if balance is None:
        return  # the user is gone, and their ledger with them
    session.add(
        CreditEntry(
            user_id=user_id,
            job_id=job_id,
            round=round_,
            kind=EntryKind.release,
            amount=cost,
            balance_after=balance,
            reason=reason,
        )
    )
    await session.flush()


async def grant(
    session: AsyncSession, user_id: str, amount: int, reason: str, actor_id: str | None = None
) -> int:
    """Add (or, negative, take back) credits outside any job; the balance never goes below 0."""
    balance = await _move(session, user_id, amount, floor=True)
    if balance is None:
        available = await _balance(session, user_id)
        raise InsufficientCredits(
            f"cannot take {-amount} credits from a balance of {available}",
            cost=-amount,
            balance=available,
        )
    session.add(
        CreditEntry(
            user_id=user_id,
            kind=EntryKind.grant,
            amount=amount,
            balance_after=balance,
            reason=reason,
            actor_id=actor_id,
        )
    )
    return balance


# ---- work paid with no job (synchronous and streamed speech, clones) -------------------------
#
# The hold is keyed by an id the caller chooses (the generation's id), in round 0. It is
# committed on its own before the work starts, so concurrent requests cannot together spend
# more than the balance; the capture goes in the transaction that records the result, and a
# release in one of its own when the work fails. A job's hold is settled by its state change;
# these have none, so settling takes the user's row lock first and then checks the hold is still
# open: a capture and a release (the stale-hold sweep) of one hold can never both happen.


async def reserve(
    sessions: async_sessionmaker[AsyncSession],
    user_id: str,
    op_id: str,
    cost: int,
    reason: str,
) -> None:
    """Hold `cost` for the operation `op_id` in a committed transaction of its own;
    InsufficientCredits (nothing stored) when the balance cannot cover it."""
    if cost <= 0:
        return
    async with sessions() as session:
        await hold(session, user_id, op_id, 0, cost, reason)
        await session.commit()


async def open_hold(session: AsyncSession, user_id: str, op_id: str) -> int | None:
    """Lock the user's balance, then the amount of `op_id`'s hold if it is neither captured nor
    released yet (None otherwise). The lock is the UPDATE, first in the transaction."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(credits=User.credits)
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(CreditEntry.kind, CreditEntry.amount).where(
            CreditEntry.job_id == op_id, CreditEntry.round == 0
        )
    )
    kinds = {kind: amount for kind, amount in rows.all()}
    if EntryKind.hold not in kinds or EntryKind.capture in kinds or EntryKind.release in kinds:
        return None
    return -kinds[EntryKind.hold]


async def capture_reserved(session: AsyncSession, user_id: str, op_id: str, reason: str) -> bool:
    """Capture `op_id`'s hold inside the caller's transaction (the one recording the result);
    False when there is no open hold (nothing to pay, or it was released meanwhile)."""
    cost = await open_hold(session, user_id, op_id)
    if cost is None:
        return False
    await capture(session, user_id, op_id, 0, cost, reason)
    return True


async def release_reserved(
    sessions: async_sessionmaker[AsyncSession], user_id: str, op_id: str, reason: str
) -> bool:
    """Give `op_id`'s hold back in a transaction of its own; False when it was not open."""
    async with sessions() as session:
        cost = await open_hold(session, user_id, op_id)
        if cost is None:
            await session.rollback()
            return False
        await release(session, user_id, op_id, 0, cost, reason)
        await session.commit()
        return True


async def charge(session: AsyncSession, user_id: str, op_id: str, cost: int, reason: str) -> None:
    """Take `cost` now, inside the caller's transaction (the one storing what was bought);
    InsufficientCredits when the balance cannot cover it, and the caller rolls back."""
    if cost <= 0:
        return
    balance = await _move(session, user_id, -cost, floor=True)
    if balance is None:
        available = await _balance(session, user_id)
        raise InsufficientCredits(
            f"this costs {cost} credits and the balance is {available}",
            cost=cost,
            balance=available,
        )
    session.add(
        CreditEntry(
            user_id=user_id,
            job_id=op_id,
            round=0,
            kind=EntryKind.charge,
            amount=-cost,
            balance_after=balance,
            reason=reason,
        )
    )
    await session.flush()
