"""Annotated dependency aliases used by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.bootstrap import Container
from voxhub.db.claims import commit_with, conflict_error, pending_claims


async def get_container(request: Request) -> Container:
    """The process's container, built in the app's lifespan."""
    container: Container = request.app.state.container
    return container


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request. Services commit; nothing is committed after the yield.

    A request's claims (a new idempotency key, an HMAC signature) are inserted with its commit,
    so they and the effect are stored together or not at all.
    """
    container: Container = request.app.state.container
    claims = pending_claims(request.state)
    async with container.sessions() as session:
        commit_with(session, claims)
        try:
            yield session
        except IntegrityError as exc:
            lost = conflict_error(claims, exc)
            if lost is not None:
                raise lost from exc
            raise


ContainerDep = Annotated[Container, Depends(get_container)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
