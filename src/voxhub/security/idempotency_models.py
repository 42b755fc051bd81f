"""Idempotency records: the first response to a (principal, route, key), replayed on retries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, LargeBinary, String, true
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.db.base import Base


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    route: Mapped[str] = mapped_column(String(300), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # "in_progress" while the first request runs, "done" once its response is stored.
    state: Mapped[str] = mapped_column(String(16))
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # False for answers that carried a credential (tokens, API keys): their body is not kept,
    # and a retry is told so instead of being given the secret again.
    replayable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
