"""Annotated dependency aliases used by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.bootstrap import Container


async def get_container(request: Request) -> Container:
    """The process's container, built in the app's lifespan."""
    container: Container = request.app.state.container
    return container


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request. Services commit; nothing is committed after the yield."""
    container: Container = request.app.state.container
    async with container.sessions() as session:
        yield session


ContainerDep = Annotated[Container, Depends(get_container)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
