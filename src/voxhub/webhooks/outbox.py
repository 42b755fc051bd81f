"""Writing a delivery into the job's final transaction, so a result is announced exactly when
it is committed (a crash in between can neither lose nor invent a webhook)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.jobs.models import Job
from voxhub.webhooks.models import WebhookDelivery


def job_payload(job: Job) -> dict[str, Any]:
    """What the destination receives: the job as `GET /api/v1/jobs/{id}` would show its end."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def add_delivery(session: AsyncSession, job: Job) -> None:
    """Queue the webhook for a job that just reached a final state, if it asked for one."""
    if not job.callback_url:
        return
    session.add(
        WebhookDelivery(
            job_id=job.id,
            round=job.billing_round,
            event=f"job.{job.status}",
            url=job.callback_url,
            payload={"event": f"job.{job.status}", "job": job_payload(job)},
        )
    )
