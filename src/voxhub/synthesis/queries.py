"""Reading generations: one the caller made, and the caller's pages, newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.core.errors import GenerationNotFound
from voxhub.core.ids import is_id
from voxhub.db.pages import newest_first
from voxhub.synthesis.models import Generation


async def get_generation(session: AsyncSession, gen_id: str, p: Principal) -> Generation:
    """A generation the caller made (admins see all)."""
    gen = await session.get(Generation, gen_id) if is_id(gen_id) else None
    if gen is None or not p.may_change(gen.owner_id):
        raise GenerationNotFound(f"no generation {gen_id}", generation_id=gen_id)
    return gen


async def list_generations(
    session: AsyncSession,
    p: Principal,
    voice_id: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Generation], str | None]:
    """The caller's generations, newest first."""
    stmt = select(Generation).where(Generation.owner_id == p.user_id)
    if voice_id:
        stmt = stmt.where(Generation.voice_id == voice_id)
    return await newest_first(session, stmt, Generation, limit, cursor)
