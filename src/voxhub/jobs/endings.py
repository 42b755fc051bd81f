"""The activity a job asks for when it ends without succeeding, written with its final state.

A job that wants one carries it in its payload (`activity_on_failure`: the activity's type, a
message with `{outcome}` in it, and the script it concerns), so that failure, cancellation and
death record it exactly once, in the transaction that ends the job; a try that is retried, or
handed back when a worker stops, ends nothing and records nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.activities.service import record as record_activity
from voxhub.jobs.models import Job, JobStatus

PAYLOAD_KEY = "activity_on_failure"


def failure_activity(type: str, message: str, script_id: str | None = None) -> dict[str, Any]:
    """The payload entry; `message` says `{outcome}` where "failed" or "cancelled" goes."""
    return {PAYLOAD_KEY: {"type": type, "message": message, "script_id": script_id}}


def record_ending(session: AsyncSession, job: Job) -> None:
    """Add the job's failure activity, if it asked for one and did not succeed."""
    wanted = job.payload.get(PAYLOAD_KEY) if isinstance(job.payload, dict) else None
    if not wanted or job.owner_id is None or job.status == JobStatus.succeeded:
        return
    outcome = "cancelled" if job.status == JobStatus.cancelled else "failed"
    record_activity(
        session,
        job.owner_id,
        wanted["type"],
        str(wanted["message"]).replace("{outcome}", outcome),
        script_id=wanted.get("script_id"),
        job_id=job.id,
        details={"outcome": outcome, "error": (job.error or {}).get("code")},
    )
