"""Shared by the webhook tests: settings, outbox rows written directly, delivery until settled."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from voxhub.container import Container
from voxhub.jobs.models import Job, JobStatus
from voxhub.settings import WebhookSettings
from voxhub.webhooks.delivery import DeliveryReport, deliver_due, stop_delivery
from voxhub.webhooks.models import WebhookAttempt, WebhookDelivery

SECRET = "webhook-test-secret-0123456789abcdef"


async def use_webhooks(c: Container, **kw: Any) -> WebhookSettings:
    """Fast retries, a known secret, loopback allowed unless a test says otherwise. A deliverer
    the container started in the background is stopped: each test drives delivery itself."""
    await stop_delivery(c)
    values: dict[str, Any] = {
        "webhook_allow_private": True,
        "webhook_backoff_s": 0.01,
        "webhook_max_attempts": 3,
        "webhook_timeout_s": 5.0,
        "webhook_secret": SecretStr(SECRET),
    } | kw
    c.settings.webhooks = WebhookSettings(**values)
    return c.settings.webhooks


async def add_row(c: Container, url: str, event: str = "job.succeeded") -> str:
    """A finished job and its outbox row, as lifecycle.settle would leave them."""
    async with c.sessions() as s:
        job = Job(kind="speech.synthesize", status=JobStatus.succeeded, payload={}, steps=[])
        s.add(job)
        await s.flush()
        row = WebhookDelivery(
            job_id=job.id,
            event=event,
            url=url,
            payload={"event": event, "job": {"id": job.id, "status": "succeeded"}},
        )
        s.add(row)
        await s.commit()
        return row.id


async def row_of(c: Container, row_id: str) -> WebhookDelivery:
    async with c.sessions() as s:
        row = await s.get(WebhookDelivery, row_id)
        assert row is not None
        return row


async def attempts_of(c: Container, row_id: str) -> list[WebhookAttempt]:
    async with c.sessions() as s:
        return list(
            await s.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == row_id)
                .order_by(WebhookAttempt.number)
            )
        )


async def deliver_until_settled(c: Container, row_id: str, timeout_s: float = 30) -> DeliveryReport:
    """Run delivery passes until the row is no longer pending."""
    total = DeliveryReport()
    async with asyncio.timeout(timeout_s):
        while (await row_of(c, row_id)).state == "pending":
            report = await deliver_due(c.sessions, c.settings)
            total.claimed += report.claimed
            total.delivered += report.delivered
            total.retrying += report.retrying
            total.failed += report.failed
            await asyncio.sleep(0.02)
    return total
