"""/api/v1/jobs: progress, events and results of background work; cancel and retry."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep, end_reads
from voxhub.api.errors import PROBLEM
from voxhub.jobs import events, service
from voxhub.jobs.models import JobStatus
from voxhub.jobs.schemas import JobPage, JobRead

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
# Event ids are 32-bit integers in the database.
MAX_SEQ = 2**31 - 1


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Refusals a route gives beyond those `voxhub.api.openapi` adds from its shape."""
    ref = {"$ref": "#/components/schemas/Problem"}
    return {
        s: {"description": HTTPStatus(s).phrase, "content": {PROBLEM: {"schema": ref}}}
        for s in statuses
    }


@router.get("", response_model=JobPage)
async def list_jobs(
    session: SessionDep,
    p: CurrentPrincipal,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    status: JobStatus | None = None,
    created_after: Annotated[
        AwareDatetime | None, Query(description="Created at or after (with a UTC offset)")
    ] = None,
    created_before: Annotated[
        AwareDatetime | None, Query(description="Created before (with a UTC offset)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> JobPage:
    """Your jobs, newest first, filtered and paginated by cursor."""
    items, next_cursor = await service.list_jobs(
        session,
        p,
        kind=kind,
        status=status,
        created_after=created_after,
        created_before=created_before,
        limit=limit,
        cursor=cursor,
    )
    return JobPage(items=[JobRead.model_validate(j) for j in items], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobRead)
async def get_job(job_id: str, session: SessionDep, p: CurrentPrincipal) -> JobRead:
    """A job's status, progress, steps and, when done, its result (e.g. where the audio is)."""
    return JobRead.model_validate(await service.get_job(session, job_id, p))


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)
async def job_events(
    job_id: str,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    # Plain integers defaulting to 0 (not nullable): an HTTP header has no null to send.
    last_event_id: Annotated[int, Header(alias="Last-Event-ID", ge=0, le=MAX_SEQ)] = 0,
    after: Annotated[
        int,
        Query(alias="last_event_id", ge=0, le=MAX_SEQ, description="Resume after this event id"),
    ] = 0,
) -> StreamingResponse:
    """The job's changes as server-sent events (`id` = its sequence number, `event` = status,
    progress or cancel_requested, `data` = the job as JSON), then `end` once it is final.
    Resume with `Last-Event-ID` (a reconnecting EventSource sends it) or `?last_event_id=`."""
    await service.get_job(session, job_id, p)
    await end_reads(session)  # the stream opens its own short sessions; hold nothing meanwhile
    # A reconnecting EventSource sends the header on the URL it first used; ids only grow, so
    # the later of the two is where the client is.
    start = max(last_event_id, after)
    return StreamingResponse(
        events.job_events(c.sessions, job_id, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/{job_id}/cancel",
    response_model=JobRead,
    responses={
        202: {"model": JobRead, "description": "Running: it stops at its next step boundary"},
        **_problems(409),
    },
)
async def cancel_job(
    job_id: str, session: SessionDep, p: CurrentPrincipal, response: Response
) -> JobRead:
    """Cancel a job: a queued one at once (200, never starts), a running one at its next step
    boundary (202, `cancel_requested`); a finished one is 409 `job_state_conflict`."""
    job = await service.cancel_job(session, job_id, p)
    if job.status != JobStatus.cancelled:
        response.status_code = 202
    return JobRead.model_validate(job)


@router.post(
    "/{job_id}/retry",
    response_model=JobRead,
    status_code=202,
    responses=_problems(402, 409, 429),
)
async def retry_job(
    job_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal, response: Response
) -> JobRead:
    """Queue a failed, dead or cancelled job again, holding its cost again (402 when the
    balance is short, 429 at your queued-jobs limit, 409 for a job in any other state)."""
    job = await service.retry_job(
        session, c.jobs, job_id, p, queued_limit=c.settings.jobs.jobs_queued_per_user
    )
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return JobRead.model_validate(job)
