"""Characters as the primary API shows them: with image URLs, star counts and the caller's star."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.characters.models import Character, CharacterImage
from voxhub.characters.queries import star_counts, starred_by
from voxhub.characters.schemas import CharacterImageRead, CharacterRead, SynthesisConfig

PREFIX = "/api/v1/characters"


def image_read(character_id: str, image: CharacterImage) -> CharacterImageRead:
    """One image with the URLs of it and its thumbnail."""
    url = f"{PREFIX}/{character_id}/images/{image.key}"
    return CharacterImageRead(
        key=image.key,
        label=image.label,
        media_type=image.media_type,
        width=image.width,
        height=image.height,
        size_bytes=image.size_bytes,
        url=url,
        thumbnail_url=f"{url}?thumbnail=true",
        created_at=image.created_at,
    )


def character_read(
    character: Character, stars: int, starred: bool, p: Principal | None
) -> CharacterRead:
    """A character with its star count and whether the caller starred it. The persona prompt
    is the author's work (and may hold what they would not publish): only they read it."""
    own = p is not None and p.may_change(character.owner_id)
    return CharacterRead(
        id=character.id,
        owner_id=character.owner_id,
        display_name=character.display_name,
        description=character.description,
        persona_prompt=character.persona_prompt if own else None,
        voice_id=character.voice_id,
        visibility=character.visibility,
        config=SynthesisConfig.model_validate(character),
        images=[image_read(character.id, image) for image in character.images],
        stars=stars,
        starred=starred,
        created_at=character.created_at,
        updated_at=character.updated_at,
    )


async def read_many(
    session: AsyncSession, characters: Sequence[Character], p: Principal | None
) -> list[CharacterRead]:
    """Characters as clients see them, with two queries for all their stars."""
    ids = [ch.id for ch in characters]
    counts = await star_counts(session, ids)
    mine = await starred_by(session, ids, p)
    return [character_read(ch, counts.get(ch.id, 0), ch.id in mine, p) for ch in characters]


async def read_one(session: AsyncSession, character: Character, p: Principal) -> CharacterRead:
    """One character as clients see it."""
    return (await read_many(session, [character], p))[0]
