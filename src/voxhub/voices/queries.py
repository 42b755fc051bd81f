"""Reading voices: visibility, one voice, filtered pages."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal, readable
from voxhub.core.errors import Forbidden, VoiceNotFound
from voxhub.core.ids import is_id
from voxhub.core.pagination import decode_cursor, encode_cursor
from voxhub.voices.models import Voice


def visible_to(p: Principal) -> ColumnElement[bool]:
    """Voices the caller may read and use: their own and public ones (all, for admins)."""
    return readable(p, Voice.owner_id, Voice.visibility)


async def get_voice(session: AsyncSession, voice_id: str, p: Principal) -> Voice:
    """A voice the caller may read (their own or a public one)."""
    voice = None
    if is_id(voice_id):
        voice = await session.scalar(select(Voice).where(Voice.id == voice_id, visible_to(p)))
    if voice is None:
        raise VoiceNotFound(f"no voice {voice_id}", voice_id=voice_id)
    return voice


async def get_owned_voice(session: AsyncSession, voice_id: str, p: Principal) -> Voice:
    """A voice the caller may change: others' private voices look missing, public ones are 403."""
    voice = await get_voice(session, voice_id, p)
    if not p.may_change(voice.owner_id):
        raise Forbidden("only the owner or an admin may change this voice", voice_id=voice_id)
    return voice


def _filtered(
    p: Principal,
    language: str | None,
    is_kids_voice: bool | None,
    q: str | None,
    mine: bool,
) -> Select[Voice]:
    stmt = select(Voice).where(visible_to(p))
    if mine:
        stmt = stmt.where(Voice.owner_id == p.user_id)
    if language:
        stmt = stmt.where(Voice.language == language)
    if is_kids_voice is not None:
        stmt = stmt.where(Voice.is_kids_voice == is_kids_voice)
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(Voice.name).like(pattern), func.lower(Voice.description).like(pattern))
        )
    return stmt


async def list_voices(
    session: AsyncSession,
    p: Principal,
    *,
    mine: bool = False,
    language: str | None = None,
    is_kids_voice: bool | None = None,
    q: str | None = None,
    tag: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> tuple[list[Voice], str | None]:
    """A page of visible voices, newest first, with the cursor of the next page."""
    stmt = _filtered(p, language, is_kids_voice, q, mine)
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Voice.created_at < at, and_(Voice.created_at == at, Voice.id < last_id))
        )
    stmt = stmt.order_by(Voice.created_at.desc(), Voice.id.desc())
    wanted = tag.strip().lower() if tag else None
    items: list[Voice] = []
    # Tags live in a JSON list; filtering them in Python keeps one query shape for both databases.
    async for voice in await session.stream_scalars(stmt.execution_options(yield_per=200)):
        if wanted and wanted not in voice.tags:
            continue
        items.append(voice)
        if len(items) > limit:
            break
    page, more = items[:limit], len(items) > limit
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    return page, next_cursor
