"""Reading characters: visibility, one character, filtered pages, stars."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal, readable
from voxhub.characters.models import Character, CharacterImage, CharacterStar
from voxhub.core.errors import CharacterNotFound, Forbidden, ImageNotFound
from voxhub.core.ids import is_id
from voxhub.core.pagination import decode_cursor, encode_cursor


def visible_to(p: Principal | None) -> ColumnElement[bool]:
    """Characters the caller may read: their own and public ones (all, for admins); anonymous
    callers (seed 001's public list) see public ones."""
    if p is None:
        return Character.visibility == "public"
    return readable(p, Character.owner_id, Character.visibility)


async def get_character(session: AsyncSession, character_id: str, p: Principal | None) -> Character:
    """A character the caller may read; others' private ones look missing."""
    character = None
    if is_id(character_id):
        character = await session.scalar(
            select(Character).where(Character.id == character_id, visible_to(p))
        )
    if character is None:
        raise CharacterNotFound(f"no character {character_id}", character_id=character_id)
    return character


async def get_owned_character(session: AsyncSession, character_id: str, p: Principal) -> Character:
    """A character the caller may change: others' private ones look missing, public ones 403."""
    character = await get_character(session, character_id, p)
    if not p.may_change(character.owner_id):
        raise Forbidden(
            "only the owner or an admin may change this character", character_id=character_id
        )
    return character


def image_of(character: Character, key: str) -> CharacterImage:
    """The character's image under `key`."""
    for image in character.images:
        if image.key == key:
            return image
    raise ImageNotFound(f"character {character.id} has no image {key!r}", key=key)


async def list_characters(
    session: AsyncSession,
    p: Principal | None,
    *,
    mine: bool = False,
    public: bool = False,
    q: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> tuple[list[Character], str | None]:
    """A page of visible characters, newest first, with the cursor of the next page."""
    stmt = select(Character).where(visible_to(p))
    if mine:
        stmt = stmt.where(Character.owner_id == (p.user_id if p else None))
    if public:
        stmt = stmt.where(Character.visibility == "public")
    if q and q.strip():
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Character.display_name).like(pattern),
                func.lower(Character.description).like(pattern),
            )
        )
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Character.created_at < at, and_(Character.created_at == at, Character.id < last_id))
        )
    stmt = stmt.order_by(Character.created_at.desc(), Character.id.desc()).limit(limit + 1)
    items = list(await session.scalars(stmt))
    page, more = items[:limit], len(items) > limit
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    return page, next_cursor


async def star_counts(session: AsyncSession, ids: Sequence[str]) -> dict[str, int]:
    """How many users starred each of `ids`."""
    if not ids:
        return {}
    rows = await session.execute(
        select(CharacterStar.character_id, func.count())
        .where(CharacterStar.character_id.in_(ids))
        .group_by(CharacterStar.character_id)
    )
    return {character_id: int(n) for character_id, n in rows}


async def starred_by(session: AsyncSession, ids: Sequence[str], p: Principal | None) -> set[str]:
    """Which of `ids` the caller starred."""
    if not ids or p is None:
        return set()
    rows = await session.scalars(
        select(CharacterStar.character_id).where(
            CharacterStar.character_id.in_(ids), CharacterStar.user_id == p.user_id
        )
    )
    return set(rows)
