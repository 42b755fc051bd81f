"""The jobs table and its event log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.core.clock import utcnow
from voxhub.db.base import Base, IdMixin, TimestampMixin


class JobStatus(StrEnum):
    queued = "queued"  # waiting for a worker (maybe not before `not_before`)
    running = "running"  # a worker holds its lease
    succeeded = "succeeded"  # finished; `result` says where the output is
    failed = "failed"  # gave up on an error that retrying cannot fix, or out of attempts
    cancelled = "cancelled"  # its owner cancelled it
    dead = "dead"  # it lost its worker (killed, timed out) on every attempt


FINAL = frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled, JobStatus.dead})
RETRYABLE = frozenset({JobStatus.failed, JobStatus.dead, JobStatus.cancelled})


class Job(IdMixin, TimestampMixin, Base):
    __tablename__ = "jobs"

    owner_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued, index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    # Named steps: [{"name", "status", "progress", "message", "started_at", "completed_at",
    # "error"}], in order.
    steps: Mapped[list[Any]] = mapped_column(default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The worker that runs it and until when its claim holds; a heartbeat moves the expiry on.
    # Every write a worker makes is fenced on `lease_owner`, so a worker that lost its lease
    # (paused, partitioned) cannot overwrite what the next one did.
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    # A retry after an unexpected error waits until then.
    not_before: Mapped[datetime | None] = mapped_column(default=None)
    # When its id was last handed to the queue; the sweep hands again ids the queue lost.
    enqueued_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    # Credits held for the current round; a retry through the API starts a new round, so each
    # round holds, captures or releases once (the ledger's unique key includes the round).
    cost: Mapped[int] = mapped_column(Integer, default=0)
    billing_round: Mapped[int] = mapped_column(Integer, default=0)
    # The number of the last event written for it (server-sent events resume after it).
    event_seq: Mapped[int] = mapped_column(Integer, default=0)


class JobEvent(Base):
    """One change of a job (status, step, progress), in order; the source of its event stream."""

    __tablename__ = "job_events"
    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_job_events_job_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
