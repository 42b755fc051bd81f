"""The jobs table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.db.base import Base, IdMixin, TimestampMixin


class JobStatus(StrEnum):
    queued = "queued"  # waiting for a runner
    running = "running"  # a runner has claimed it
    succeeded = "succeeded"  # finished; `result` says where the output is
    failed = "failed"  # gave up; `error` says why


class Job(IdMixin, TimestampMixin, Base):
    __tablename__ = "jobs"

    owner_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued, index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    # Named steps: [{"name", "status", "progress", "message"}], in order.
    steps: Mapped[list[Any]] = mapped_column(default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
