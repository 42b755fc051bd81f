"""Annotated dependency aliases used by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from voxhub.container import Container
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
        event.listen(session.sync_session, "after_flush", _note_write)
        try:
            yield session
        except IntegrityError as exc:
            lost = conflict_error(claims, exc)
            if lost is not None:
                raise lost from exc
            raise


_WROTE = "voxhub_wrote"


def _note_write(sync_session: Session, _context: object) -> None:
    sync_session.info[_WROTE] = True


async def end_reads(session: AsyncSession) -> None:
    """End the session's transaction if it has only read, so no connection is held meanwhile.

    A transaction that wrote (an external identity's first sign-in joins the request's unit of
    work) is kept for the request's commit.
    """
    pending = session.new or session.dirty or session.deleted
    if session.in_transaction() and not pending and not session.sync_session.info.get(_WROTE):
        await session.rollback()


def _no_store(response: Response) -> None:
    # RFC 6749 §5.1 for token answers; the idempotency layer reads it too and keeps no body.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


# For routes whose answer carries a credential (tokens, API keys): no cache or store keeps it.
CarriesCredential = Depends(_no_store)
ContainerDep = Annotated[Container, Depends(get_container)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
