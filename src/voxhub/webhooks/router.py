"""GET /api/v1/jobs/{id}/webhooks: what became of a job's callback, attempt by attempt."""

from __future__ import annotations

from fastapi import APIRouter

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import SessionDep
from voxhub.webhooks.views import DeliveryRead, job_deliveries

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("/{job_id}/webhooks", response_model=list[DeliveryRead])
async def list_job_webhooks(
    job_id: str, session: SessionDep, p: CurrentPrincipal
) -> list[DeliveryRead]:
    """The job's webhook deliveries and every attempt: status code, error, duration."""
    return await job_deliveries(session, job_id, p)
