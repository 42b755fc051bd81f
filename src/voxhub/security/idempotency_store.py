"""Claiming, completing and releasing idempotency keys in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.core.clock import utcnow
from voxhub.security.idempotency_models import IdempotencyRecord


@dataclass(frozen=True)
class Claim:
    """What the claim found: `new` (go ahead), `in_progress`, `mismatch`, or `done` (replay)."""

    outcome: str
    record: IdempotencyRecord | None = None


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    scope: str,
    route: str,
    key: str,
    fingerprint: str,
    ttl_s: int,
) -> Claim:
    """Insert-if-absent in one statement, so two racing requests cannot both win."""
    now = utcnow()
    values = {
        "scope": scope,
        "route": route,
        "key": key,
        "fingerprint": fingerprint,
        "state": "in_progress",
        "headers": {},
        "created_at": now,
        "expires_at": now + timedelta(seconds=ttl_s),
    }
    async with sessions() as session:
        ident = (
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.route == route,
            IdempotencyRecord.key == key,
        )
        # An expired record is as good as none.
        await session.execute(
            delete(IdempotencyRecord).where(*ident, IdempotencyRecord.expires_at < now)
        )
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(IdempotencyRecord).values(**values).on_conflict_do_nothing()
        result = await session.execute(stmt)
        await session.commit()
        if getattr(result, "rowcount", 0) == 1:
            return Claim("new")
        record = await session.scalar(select(IdempotencyRecord).where(*ident))
    if record is None:  # it expired and vanished between the two statements: try once more
        return Claim("in_progress")
    if record.fingerprint != fingerprint:
        return Claim("mismatch", record)
    if record.state != "done":
        return Claim("in_progress", record)
    return Claim("done", record)


async def complete(
    sessions: async_sessionmaker[AsyncSession],
    scope: str,
    route: str,
    key: str,
    status: int,
    headers: dict[str, Any],
    body: bytes,
) -> None:
    """Store the first response for replay."""
    async with sessions() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.route == route,
                IdempotencyRecord.key == key,
            )
            .values(state="done", status=status, headers=headers, body=body)
        )
        await session.commit()


async def release(
    sessions: async_sessionmaker[AsyncSession], scope: str, route: str, key: str
) -> None:
    """Forget a claim whose request never took effect (validation failed, not allowed...)."""
    async with sessions() as session:
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.route == route,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == "in_progress",
            )
        )
        await session.commit()
