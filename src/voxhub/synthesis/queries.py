"""Reading generations: one the caller made, and the caller's pages, newest first."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.core.errors import GenerationNotFound
from voxhub.core.ids import is_id
from voxhub.core.pagination import decode_cursor, encode_cursor
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
    if cursor:
        at, last = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Generation.created_at < at, and_(Generation.created_at == at, Generation.id < last))
        )
    rows = list(
        await session.scalars(
            stmt.order_by(Generation.created_at.desc(), Generation.id.desc()).limit(limit + 1)
        )
    )
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
