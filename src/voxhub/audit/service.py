"""Recording and reading audit events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.audit.context import client_ip_var
from voxhub.audit.models import AuditEvent
from voxhub.core.pagination import as_utc
from voxhub.db.pages import newest_first
from voxhub.observability.logs import request_id_var

Outcome = Literal["ok", "refused", "failed"]


def record(
    session: AsyncSession,
    action: str,
    *,
    actor_id: str | None,
    target_type: str | None = None,
    target_id: str | None = None,
    ip: str | None = None,
    outcome: Outcome = "ok",
    **details: Any,
) -> AuditEvent:
    """Add an event to the caller's transaction, so it commits (or not) with the effect.

    The IP is the current request's peer unless given; the request id goes in the details, so
    an event can be found in the logs."""
    request_id = request_id_var.get()
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=ip or client_ip_var.get(),
        outcome=outcome,
        details=details | ({"request_id": request_id} if request_id else {}),
    )
    session.add(event)
    return event


async def record_refused(
    sessions: async_sessionmaker[AsyncSession],
    action: str,
    *,
    actor_id: str | None,
    target_type: str | None = None,
    target_id: str | None = None,
    **details: Any,
) -> None:
    """Commit a refusal on its own, before the refused request raises: the refused effect
    stores nothing, but that it was asked for and refused is kept. Shielded, so a client that
    hangs up meanwhile cannot cancel it."""
    with anyio.CancelScope(shield=True):
        async with sessions() as session:
            record(
                session,
                action,
                actor_id=actor_id,
                target_type=target_type,
                target_id=target_id,
                outcome="refused",
                **details,
            )
            await session.commit()


async def list_events(
    session: AsyncSession,
    *,
    action: str | None = None,
    actor_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    ip: str | None = None,
    outcome: Outcome | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[AuditEvent], str | None]:
    """A page of events, newest first, with the cursor of the next page (`created_after`
    inclusive, `created_before` exclusive)."""
    stmt = select(AuditEvent)
    for column, value in (
        (AuditEvent.action, action),
        (AuditEvent.actor_id, actor_id),
        (AuditEvent.target_type, target_type),
        (AuditEvent.target_id, target_id),
        (AuditEvent.ip, ip),
        (AuditEvent.outcome, outcome),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if created_after is not None:
        stmt = stmt.where(AuditEvent.created_at >= as_utc(created_after))
    if created_before is not None:
        stmt = stmt.where(AuditEvent.created_at < as_utc(created_before))
    return await newest_first(session, stmt, AuditEvent, limit, cursor)
