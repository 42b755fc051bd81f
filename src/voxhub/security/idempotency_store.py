"""Idempotency records: looked up first, claimed in the effect's transaction, completed after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.core.clock import utcnow
from voxhub.core.errors import IdempotencyInFlight, VoxhubError
from voxhub.security.idempotency_models import IdempotencyRecord


@dataclass(frozen=True)
class PendingClaim:
    """A key the request will claim in the same transaction as its effect."""

    scope: str
    route: str
    key: str
    fingerprint: str
    expires_at: datetime

    def record(self) -> IdempotencyRecord:
        """The row that the effect's commit inserts; a second insert fails on the primary key."""
        return IdempotencyRecord(
            scope=self.scope,
            route=self.route,
            key=self.key,
            fingerprint=self.fingerprint,
            state="in_progress",
            headers={},
            created_at=utcnow(),
            expires_at=self.expires_at,
        )

    def conflict(self, exc: IntegrityError) -> VoxhubError | None:
        """Another request with this key committed first."""
        if "idempotency_keys" not in str(getattr(exc, "orig", exc)):
            return None
        return IdempotencyInFlight(
            "a request with this Idempotency-Key is still running or just finished"
        )


def pending(scope: str, route: str, key: str, fingerprint: str, ttl_s: int) -> PendingClaim:
    """A claim to attach to the request."""
    return PendingClaim(scope, route, key, fingerprint, utcnow() + timedelta(seconds=ttl_s))


async def lookup(
    sessions: async_sessionmaker[AsyncSession], scope: str, route: str, key: str
) -> IdempotencyRecord | None:
    """The live record of this key, after dropping an expired one."""
    ident = (
        IdempotencyRecord.scope == scope,
        IdempotencyRecord.route == route,
        IdempotencyRecord.key == key,
    )
    async with sessions() as session:
        row = await session.scalar(select(IdempotencyRecord).where(*ident))
        if row is not None and row.expires_at <= utcnow():
            await session.execute(delete(IdempotencyRecord).where(*ident))
            await session.commit()
            return None
        return row


async def complete(
    sessions: async_sessionmaker[AsyncSession],
    claim: PendingClaim,
    status: int,
    headers: dict[str, Any],
    body: bytes | None,
    replayable: bool = True,
) -> None:
    """Store the response (for replay, or only that there was one), if the claim committed."""
    async with sessions() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.scope == claim.scope,
                IdempotencyRecord.route == claim.route,
                IdempotencyRecord.key == claim.key,
                IdempotencyRecord.state == "in_progress",
                IdempotencyRecord.fingerprint == claim.fingerprint,
            )
            .values(state="done", status=status, headers=headers, body=body, replayable=replayable)
        )
        await session.commit()
