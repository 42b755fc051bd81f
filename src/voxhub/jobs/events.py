"""A job's event log as server-sent events (`GET /api/v1/jobs/{id}/events`).

The worker may be another process on another machine, so the stream reads the `job_events`
table, never in-process signals: every `poll_s` it opens a session, reads the events after the
last one sent, and closes it, so an open stream holds no database connection between polls.
Each row becomes one event (`id:` its seq, `event:` its type, `data:` the job's snapshot as
JSON). Once the job is final and every event is sent, one `end` event follows and the stream
ends. The `end` event has no `id:`, so a client that reconnects with the last id it saw gets
what it missed and `end` again. A comment goes out after `heartbeat_s` of silence so proxies
keep the connection open. When the client goes away the server cancels the generator (a
Starlette `StreamingResponse` listens for the disconnect), which ends at its current await.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select

from voxhub.jobs.lifecycle import Sessions, snapshot
from voxhub.jobs.models import FINAL, Job, JobEvent

POLL_S = 0.5
HEARTBEAT_S = 15.0
# Events read per poll: a long backlog is sent in batches without waiting between them.
BATCH = 200
# How long a client waits before it reconnects after the connection drops (the SSE `retry:`).
RECONNECT_MS = 2000

_open = 0


def open_streams() -> int:
    """Event streams being served by this process now (for metrics and tests)."""
    return _open


def frame(data: dict[str, Any], event: str, seq: int | None = None) -> str:
    """One SSE event. JSON has no raw newlines, so `data:` fits on one line."""
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def job_events(
    sessions: Sessions,
    job_id: str,
    after: int = 0,
    *,
    poll_s: float = POLL_S,
    heartbeat_s: float = HEARTBEAT_S,
) -> AsyncIterator[str]:
    """The job's events after seq `after`, as SSE text, until it is final (then `end`)."""
    global _open
    _open += 1
    try:
        yield f"retry: {RECONNECT_MS}\n\n"
        last, spoke = after, time.monotonic()
        while True:
            async with sessions() as session:
                # The job first: if it is final now, every event up to its event_seq is
                # committed (the final transition wrote both), so the read below sees them all.
                job = await session.get(Job, job_id)
                rows = (
                    await session.execute(
                        select(JobEvent.seq, JobEvent.type, JobEvent.data)
                        .where(JobEvent.job_id == job_id, JobEvent.seq > last)
                        .order_by(JobEvent.seq)
                        .limit(BATCH)
                    )
                ).all()
                newest = rows[-1].seq if rows else last
                done = job is None or (job.status in FINAL and newest >= job.event_seq)
                end = snapshot(job) if job is not None and done else {"status": "deleted"}
            for seq, type_, data in rows:
                yield frame(data, type_, seq)
                last = seq
            if rows:
                spoke = time.monotonic()
            if len(rows) == BATCH:
                continue
            if done:
                yield frame(end, "end")
                return
            if time.monotonic() - spoke >= heartbeat_s:
                yield ": keep-alive\n\n"
                spoke = time.monotonic()
            await asyncio.sleep(poll_s)
    finally:
        _open -= 1
