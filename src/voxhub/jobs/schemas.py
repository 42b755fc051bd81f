"""Job views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class JobStep(BaseModel):
    name: str
    status: str
    progress: int = 0
    message: str = ""


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
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
