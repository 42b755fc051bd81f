"""What a job's owner sees of its webhooks: each delivery's state and every attempt."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.jobs import service as jobs
from voxhub.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery


class AttemptRead(BaseModel):
    number: int
    status_code: int | None
    error: str | None
    duration_ms: int
    at: datetime


class DeliveryRead(BaseModel):
    """One webhook of a job: `pending` (tried again at `next_attempt_at`), `delivered` or
    `failed` (with `last_error`). `id` is the `X-Idempotency-Key` the receiver saw."""

    id: str
    event: str
    url: str
    state: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    attempts: list[AttemptRead]


async def job_deliveries(session: AsyncSession, job_id: str, p: Principal) -> list[DeliveryRead]:
    """The webhooks of a job the caller may see, oldest first, each with its attempts."""
    await jobs.get_job(session, job_id, p)  # JobNotFound for someone else's job
    rows = list(
        await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.job_id == job_id)
            .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        )
    )
    tries: dict[str, list[AttemptRead]] = {r.id: [] for r in rows}
    if rows:
        for a in await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(tries)))
            .order_by(WebhookAttempt.number, WebhookAttempt.id)
        ):
            tries[a.delivery_id].append(
                AttemptRead(
                    number=a.number,
                    status_code=a.status_code,
                    error=a.error,
                    duration_ms=a.duration_ms,
                    at=a.created_at,
                )
            )
    return [
        DeliveryRead(
            id=r.id,
            event=r.event,
            url=r.url,
            state=r.state,
            # A leased row's time is the lease's end, not a retry: shown only while pending.
            next_attempt_at=r.next_attempt_at if r.state == DeliveryState.pending else None,
            delivered_at=r.delivered_at,
            last_status=r.last_status,
            last_error=r.last_error,
            created_at=r.created_at,
            attempts=tries[r.id],
        )
        for r in rows
    ]
