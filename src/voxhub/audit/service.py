"""Recording and reading audit events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.audit.models import AuditEvent


def record(
    session: AsyncSession,
    action: str,
    *,
    actor_id: str | None,
    target_type: str | None = None,
    target_id: str | None = None,
    ip: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an event to the caller's transaction, so it commits (or not) with the effect."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=ip,
        details=details,
    )
    session.add(event)
    return event


async def list_events(
    session: AsyncSession,
    *,
    action: str | None = None,
    actor_id: str | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Newest events first."""
    stmt = select(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    rows = await session.scalars(stmt.order_by(AuditEvent.created_at.desc()).limit(limit))
    return list(rows)
