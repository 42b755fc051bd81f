"""Annotated dependency aliases used by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from voxhub.bootstrap import Container
from voxhub.core.errors import IdempotencyInFlight
from voxhub.security.idempotency_store import PendingClaim, is_claim_conflict


async def get_container(request: Request) -> Container:
    """The process's container, built in the app's lifespan."""
    container: Container = request.app.state.container
    return container


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request. Services commit; nothing is committed after the yield.

    A request carrying a new idempotency key inserts its claim with its first commit, so the key
    and the effect are stored together or not at all.
    """
    container: Container = request.app.state.container
    claim: PendingClaim | None = getattr(request.state, "idempotency_claim", None)
    async with container.sessions() as session:
        if claim is not None:
            event.listen(session.sync_session, "before_commit", _claimer(claim), once=True)
        try:
            yield session
        except IntegrityError as exc:
            if claim is not None and is_claim_conflict(exc):
                raise IdempotencyInFlight(
                    "a request with this Idempotency-Key is still running or just finished"
                ) from exc
            raise


def _claimer(claim: PendingClaim) -> Callable[[Session], None]:
    def add_claim(session: Session) -> None:
        session.add(claim.record())

    return add_claim


ContainerDep = Annotated[Container, Depends(get_container)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
