"""The audit table. Rows are only ever inserted: database triggers refuse UPDATE and DELETE."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.db.base import Base, IdMixin, TimestampMixin


class AuditEvent(IdMixin, TimestampMixin, Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    actor_id: Mapped[str | None] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    # "ok" (it was done), "refused" (a policy said no: consent, a blocked voice, a limit) or
    # "failed" (it was tried and did not happen).
    outcome: Mapped[str] = mapped_column(String(16), default="ok", server_default="ok")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
