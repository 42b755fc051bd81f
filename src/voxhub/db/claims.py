"""Claims: rows a request inserts in the same transaction as its effect, or not at all.

An idempotency key and an HMAC signature are both claimed this way: the first request to commit
its effect owns them, and a racing request's commit fails on their primary key and is answered
with the claim's own conflict error instead of a second effect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from voxhub.core.errors import VoxhubError

STATE_KEY = "claims"


class Claim(Protocol):
    def record(self) -> Any:
        """The ORM row the effect's commit inserts."""

    def conflict(self, exc: IntegrityError) -> VoxhubError | None:
        """The error to answer when `exc` says another request committed this claim first."""


def pending_claims(state: Any) -> list[Claim]:
    """The claims attached to a request's state (a Starlette `State` or the scope's dict)."""
    if isinstance(state, dict):
        return list(state.get(STATE_KEY, []))
    return list(getattr(state, STATE_KEY, []))


def attach_claim(scope_state: dict[str, Any], claim: Claim) -> None:
    """Add `claim` to the request whose ASGI scope state is `scope_state`."""
    scope_state.setdefault(STATE_KEY, []).append(claim)


def commit_with(session: AsyncSession, claims: Sequence[Claim]) -> None:
    """Insert `claims` with the session's next commit (one use case, one commit)."""
    if not claims:
        return

    def add_claims(sync_session: Session) -> None:
        sync_session.add_all([claim.record() for claim in claims])

    hook: Callable[[Session], None] = add_claims
    event.listen(session.sync_session, "before_commit", hook, once=True)


def conflict_error(claims: Sequence[Claim], exc: IntegrityError) -> VoxhubError | None:
    """The answer for a commit that lost a claim to another request, if that is what failed."""
    for claim in claims:
        error = claim.conflict(exc)
        if error is not None:
            return error
    return None
