"""Job views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class JobStep(BaseModel):
    """One named step; the times are ISO 8601 UTC strings, set when it started and ended."""

    name: str
    status: str  # pending | in_progress | completed | failed | cancelled | dead
    progress: int = 0
    message: str = ""
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None  # the job's error code, on the step that was running when it ended


class JobRead(BaseModel):
    """A job as clients see it: status, progress, named steps and, once done, the result."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    status: str
    progress: int
    steps: list[JobStep]
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    attempts: int
    max_attempts: int
    # Credits held for it (captured on success, released otherwise).
    cost: int
    # Its owner asked a running job to stop; it ends `cancelled` at its next step boundary.
    cancel_requested: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(BaseModel):
    """One page of jobs; pass `next_cursor` back as `cursor` for the next."""

    items: list[JobRead]
    next_cursor: str | None
