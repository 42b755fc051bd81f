"""Prometheus metrics on the default registry, all named `voxhub_*`.

Labels are bounded sets only: job kinds (entry points), statuses, error codes (stable `code`s),
engine names (loaded engines) and route templates, never ids, paths or user input. The API serves
them on `/metrics` (voxhub.observability.router); `voxhub worker` serves the same registry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from voxhub.container import Container

log = logging.getLogger(__name__)

# Seconds: a job waits milliseconds (embedded) to minutes (a busy GPU pool).
WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1800)
FIRST_AUDIO_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 2, 5, 10)
# Engine seconds per second of audio: below 1 is faster than real time.
RTF_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

QUEUE_DEPTH = Gauge(
    "voxhub_job_queue_depth",
    "Jobs waiting or running, per kind and status, read from the jobs table at scrape time",
    ["kind", "status"],
)
QUEUE_MESSAGES = Gauge(
    "voxhub_job_queue_messages",
    "Job ids this process's queue holds for delivery (embedded: in memory; Redis: the stream)",
)
JOB_WAIT = Histogram(
    "voxhub_job_queue_wait_seconds",
    "From the job's id being queued (enqueued_at, else created_at) to a worker claiming it",
    ["kind"],
    buckets=WAIT_BUCKETS,
)
JOB_RUN = Histogram(
    "voxhub_job_run_seconds",
    "One attempt of a job, from its claim to its outcome",
    ["kind"],
    buckets=RUN_BUCKETS,
)
JOB_OUTCOMES = Counter(
    "voxhub_job_outcomes_total",
    "Attempts by how they ended: succeeded, failed, dead, cancelled, retried, lost (the lease)",
    ["kind", "outcome"],
)
JOB_FAILURES = Counter(
    "voxhub_job_failures_total",
    "Failed attempts by the error's stable code (job_timeout, job_failed, a domain code)",
    ["kind", "code"],
)
FIRST_AUDIO = Histogram(
    "voxhub_speech_time_to_first_audio_seconds",
    "Streamed speech: from the start of synthesis to the first audio bytes sent",
    ["engine"],
    buckets=FIRST_AUDIO_BUCKETS,
)
REAL_TIME_FACTOR = Histogram(
    "voxhub_engine_real_time_factor",
    "Engine seconds per second of audio rendered (below 1: faster than real time)",
    ["engine"],
    buckets=RTF_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "voxhub_http_requests_total",
    "HTTP requests by method, route template and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "voxhub_http_request_duration_seconds",
    "HTTP requests, until the whole response was sent, by method and route template",
    ["method", "route"],
    buckets=HTTP_BUCKETS,
)


def job_claimed(kind: str, queued_at: datetime | None, claimed_at: datetime | None) -> None:
    """A worker took the job: how long it waited since its id was queued."""
    if queued_at is not None and claimed_at is not None:
        JOB_WAIT.labels(kind).observe(max(0.0, (claimed_at - queued_at).total_seconds()))


def job_ended(kind: str, outcome: str | None, seconds: float) -> None:
    """One attempt ended (`outcome` None: the lease was lost to another worker)."""
    JOB_RUN.labels(kind).observe(seconds)
    label = {None: "lost", "queued": "retried"}.get(outcome, outcome)
    JOB_OUTCOMES.labels(kind, label).inc()


def job_failed(kind: str, code: str) -> None:
    JOB_FAILURES.labels(kind, code).inc()


def first_audio(engine: str, seconds: float) -> None:
    FIRST_AUDIO.labels(engine).observe(seconds)


def engine_rendered(engine: str, engine_seconds: float, audio_seconds: float) -> None:
    """The real-time factor of one rendering (nothing for empty audio: no factor exists)."""
    if audio_seconds > 0:
        REAL_TIME_FACTOR.labels(engine).observe(engine_seconds / audio_seconds)


# A scrape reads the jobs table at most this often; other scrapes get the last values, so a
# scraper (or many) cannot turn /metrics into load on the database.
DEPTH_TTL_S = 5.0
DEPTH_TIMEOUT_S = 2.0
DEPTH_STATUSES = ("queued", "running")
_STATE = "observability.depth"


@dataclass
class _DepthCache:
    at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@cache
def _known_kinds() -> tuple[str, ...]:
    # Every kind gets a 0 sample, so an empty queue shows as 0 rather than as no series.
    return tuple(sorted(ep.name for ep in entry_points(group="voxhub.jobs")))


async def _count_jobs(c: Container) -> dict[tuple[str, str], int]:
    from sqlalchemy import func, select

    from voxhub.jobs.models import Job

    async with c.sessions() as session:
        rows = await session.execute(
            select(Job.kind, Job.status, func.count())
            .where(Job.status.in_(DEPTH_STATUSES))
            .group_by(Job.kind, Job.status)
        )
        return {(kind, status): n for kind, status, n in rows.all()}


async def refresh_queue_depth(c: Container, ttl_s: float = DEPTH_TTL_S) -> None:
    """Update the queue gauges if the last reading is older than `ttl_s`. A failing database
    leaves the last values (and a log line): /metrics still answers, /ready tells the rest."""
    state: _DepthCache = c.extras.setdefault(_STATE, _DepthCache())
    async with state.lock:  # concurrent scrapes wait for one reading rather than each making one
        if time.monotonic() - state.at < ttl_s:
            return
        try:
            messages = await asyncio.wait_for(c.jobs.depth(), DEPTH_TIMEOUT_S)
        except Exception as exc:  # Redis away: the table's numbers are still worth having
            log.warning("metrics: could not read the queue's length (%s)", type(exc).__name__)
        else:
            QUEUE_MESSAGES.set(messages)
        try:
            counts = await asyncio.wait_for(_count_jobs(c), DEPTH_TIMEOUT_S)
        except Exception as exc:
            log.warning("metrics: could not read the queue depth (%s)", type(exc).__name__)
            return
        state.at = time.monotonic()
        QUEUE_DEPTH.clear()
        kinds = set(_known_kinds()) | {kind for kind, _ in counts}
        for kind in sorted(kinds):
            for status in DEPTH_STATUSES:
                QUEUE_DEPTH.labels(kind, status).set(counts.get((kind, status), 0))


def exposition() -> tuple[bytes, str]:
    """The default registry in the Prometheus text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
