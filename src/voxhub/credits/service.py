"""Credit use cases: the balance and its ledger, estimates, admin grants, stale holds."""

from __future__ import annotations

import logging

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.models import User
from voxhub.accounts.principal import Principal
from voxhub.audit import service as audit
from voxhub.container import Container
from voxhub.core.errors import Conflict, InsufficientCredits, UserNotFound
from voxhub.core.pagination import decode_cursor, encode_cursor
from voxhub.credits import ledger, pricing
from voxhub.credits.models import CreditEntry, EntryKind
from voxhub.credits.schemas import (
    CreditsRead,
    EntryPage,
    EntryRead,
    EstimateItem,
    EstimateRead,
    EstimateRequest,
    GrantRead,
    GrantRequest,
    HoldRead,
    Prices,
)
from voxhub.credits.stale import open_holds as _open_holds

log = logging.getLogger(__name__)
RECENT = 20


class BalanceWouldGoNegative(Conflict):
    """An admin's correction larger than the balance: take back at most what is there."""

    code = "balance_would_go_negative"
    title = "Correction larger than the balance"


def paid_by_job(p: Principal) -> bool:
    """Work a job does on its owner's behalf is paid by the job's hold, settled with its end."""
    return p.via == "job"


async def balance_of(session: AsyncSession, user_id: str) -> int:
    balance = await session.scalar(select(User.credits).where(User.id == user_id))
    if balance is None:
        raise UserNotFound(f"no user {user_id}")
    return balance


async def check_affordable(c: Container, user_id: str, cost: int) -> None:
    """Refuse (402) before any work when the balance cannot cover `cost`. Not a reservation:
    the charge that follows is conditional, so a concurrent spender can still win; it only
    spares work that would be refused anyway. Read in a session of its own, so the caller's
    transaction has not read before it writes (SQLite)."""
    if cost <= 0:
        return
    async with c.sessions() as session:
        balance = await balance_of(session, user_id)
    if balance < cost:
        raise InsufficientCredits(
            f"this costs {cost} credits and the balance is {balance}", cost=cost, balance=balance
        )


async def overview(session: AsyncSession, p: Principal) -> CreditsRead:
    """The caller's available balance, what is held for unfinished work, and recent entries."""
    balance = await balance_of(session, p.user_id)
    holds = list(await session.scalars(_open_holds(p.user_id).order_by(CreditEntry.created_at)))
    recent = await session.scalars(
        select(CreditEntry)
        .where(CreditEntry.user_id == p.user_id)
        .order_by(CreditEntry.created_at.desc(), CreditEntry.id.desc())
        .limit(RECENT)
    )
    return CreditsRead(
        balance=balance,
        held=sum(-h.amount for h in holds),
        holds=[
            HoldRead(job_id=h.job_id, amount=-h.amount, reason=h.reason, created_at=h.created_at)
            for h in holds
        ],
        recent=[EntryRead.model_validate(e) for e in recent],
    )


async def ledger_page(
    session: AsyncSession, p: Principal, limit: int, cursor: str | None
) -> EntryPage:
    """The caller's ledger, newest first, in keyset pages."""
    stmt = select(CreditEntry).where(CreditEntry.user_id == p.user_id)
    if cursor:
        at, last = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                CreditEntry.created_at < at,
                and_(CreditEntry.created_at == at, CreditEntry.id < last),
            )
        )
    rows = list(
        await session.scalars(
            stmt.order_by(CreditEntry.created_at.desc(), CreditEntry.id.desc()).limit(limit + 1)
        )
    )
    page = rows[:limit]
    more = len(rows) > limit and page
    return EntryPage(
        items=[EntryRead.model_validate(e) for e in page],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more else None,
    )


async def estimate(
    c: Container, session: AsyncSession, req: EstimateRequest, p: Principal
) -> EstimateRead:
    """What the request would cost, checked as the real request would be (a too-long text is
    a 413, an unknown voice a 404), with the balance it would be paid from."""
    from voxhub.synthesis.service import speech_estimate  # synthesis imports credits

    prices = c.settings.credits
    items: list[EstimateItem] = []
    if req.speech is not None:
        spoken = await speech_estimate(c, req.speech, p)
        cost = pricing.speech_cost(prices, spoken)
        items.append(
            EstimateItem(operation="speech", quantity=spoken, unit="spoken_chars", cost=cost)
        )
    for operation, count, unit_price in (
        ("clone", req.clones, pricing.clone_cost(prices)),
        ("video", req.videos, pricing.video_cost(prices)),
        ("llm_call", req.llm_calls, pricing.llm_cost(prices)),
    ):
        if count:
            items.append(
                EstimateItem(
                    operation=operation, quantity=count, unit=operation, cost=count * unit_price
                )
            )
    total = sum(i.cost for i in items)
    async with c.sessions() as own:
        balance = await balance_of(own, p.user_id)
    return EstimateRead(
        total=total,
        balance=balance,
        affordable=total <= balance,
        items=items,
        prices=Prices(**vars(pricing.price_list(prices))),
    )


async def admin_grant(
    session: AsyncSession, req: GrantRequest, admin: Principal, ip: str | None
) -> GrantRead:
    """Grant (positive) or correct (negative) a user's balance, with an audit event; one commit.
    A correction may not take the balance below 0 (409 `balance_would_go_negative`)."""
    try:
        balance = await ledger.grant(session, req.user_id, req.amount, req.reason, admin.user_id)
    except InsufficientCredits as exc:
        await session.rollback()
        raise BalanceWouldGoNegative(
            f"the balance is {exc.extra['balance']}; a correction may take back at most that",
            balance=exc.extra["balance"],
            amount=req.amount,
        ) from exc
    await session.flush()
    entry = await session.scalar(
        select(CreditEntry)
        .where(CreditEntry.user_id == req.user_id, CreditEntry.kind == EntryKind.grant)
        .order_by(CreditEntry.created_at.desc(), CreditEntry.id.desc())
        .limit(1)
    )
    assert entry is not None
    audit.record(
        session,
        "credits_granted" if req.amount > 0 else "credits_corrected",
        actor_id=admin.user_id,
        target_type="user",
        target_id=req.user_id,
        ip=ip,
        amount=req.amount,
        balance_after=balance,
        reason=req.reason,
        entry_id=entry.id,
    )
    await session.commit()
    return GrantRead(user_id=req.user_id, balance=balance, entry=EntryRead.model_validate(entry))


async def total_of_entries(session: AsyncSession, user_id: str) -> int:
    """The sum of the user's ledger entries (equals the balance; for checks and tests)."""
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
                CreditEntry.user_id == user_id
            )
        )
        or 0
    )
