"""A transaction beside the request's, for what must be kept when the request itself fails.

A failed login's audit row and a detected refresh-token reuse's revocation are committed even
though the request answers 401. They must not ride on the request's session: its first commit
also inserts the request's idempotency claim (`voxhub.api.deps.get_session`), and a refused
request must store nothing under its key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


@asynccontextmanager
async def apart(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A new session on the same engine as `session`; the caller commits it."""
    engine = session.bind
    if not isinstance(engine, AsyncEngine):
        raise TypeError("sessions must be bound to an engine")
    async with AsyncSession(engine, expire_on_commit=False) as side:
        yield side
