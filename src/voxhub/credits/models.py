"""The credit ledger. `users.credits` is the available balance; every change to it is a row here,
so the balance always equals the sum of a user's entries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.core.clock import utcnow
from voxhub.db.base import Base, IdMixin


class EntryKind(StrEnum):
    grant = "grant"  # sign-up gift or an admin's grant (positive) or correction (negative)
    hold = "hold"  # reserved when a job is queued (negative)
    release = "release"  # a hold given back: the job failed or was cancelled (positive)
    capture = "capture"  # a job succeeded: its hold is given back and the price taken (net 0)
    charge = "charge"  # work paid on the spot, with no job (negative)


class CreditEntry(IdMixin, Base):
    __tablename__ = "credit_entries"
    # At most one hold, one release and one capture per job and round: a second capture of a
    # job is a constraint violation, not a bug to find later.
    __table_args__ = (
        UniqueConstraint("job_id", "round", "kind", name="uq_credit_entries_job_round_kind"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    round: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    # Signed change to the available balance, and the balance after it.
    amount: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    # What was bought ("speech", "clone") or why it was granted; never user-supplied secrets.
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
