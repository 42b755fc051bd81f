"""Character use cases. Image blobs are written before the commit and removed again if it fails;
blobs the rows stop needing are promised to the blob outbox in the same transaction.

Reads live in `voxhub.characters.queries`; they are imported here so callers need one module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.activities import service as activities
from voxhub.activities.models import ActivityType
from voxhub.audit import service as audit
from voxhub.characters.images import StoredImage, prepare_image
from voxhub.characters.models import Character, CharacterImage, CharacterStar
from voxhub.characters.queries import (
    get_character,
    get_owned_character,
    image_of,
    list_characters,
    star_counts,
    starred_by,
)
from voxhub.characters.schemas import CharacterCreate, CharacterUpdate
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.errors import CharacterNotFound, Forbidden, InvalidInput, VoiceNotFound
from voxhub.core.ids import new_id
from voxhub.storage.outbox import discard, drain, enqueue
from voxhub.voices import service as voices
from voxhub.voices.queries import get_voice

MAX_IMAGES = 20


@dataclass
class ImageUpload:
    """One uploaded image, read into memory (the body cap bounds its size), and its label."""

    data: bytes
    label: str = ""


@dataclass
class PreparedImage:
    """An upload that passed the checks, re-encoded and ready to store."""

    upload: ImageUpload
    image: StoredImage


async def prepare_images(uploads: Sequence[ImageUpload]) -> list[PreparedImage]:
    """Check and re-encode every upload, off the event loop; the first refusal raises."""
    if len(uploads) > MAX_IMAGES:
        raise InvalidInput(f"a character has at most {MAX_IMAGES} images", max_images=MAX_IMAGES)
    out = []
    for upload in uploads:
        out.append(PreparedImage(upload, await asyncio.to_thread(prepare_image, upload.data)))
    return out


async def create_character(
    c: Container,
    session: AsyncSession,
    data: CharacterCreate,
    p: Principal,
    prepared: Sequence[PreparedImage] = (),
    *,
    owns_voice: bool = False,
) -> Character:
    """A new character speaking with a voice the caller may use, with first images already
    checked (`prepare_images`); `owns_voice` when the voice was made for it and goes with it."""
    await get_voice(session, data.voice_id, p)  # 404 voice_not_found for one they cannot use
    config = data.config
    character = Character(
        id=new_id(),
        owner_id=p.user_id,
        display_name=data.display_name.strip(),
        description=data.description.strip(),
        persona_prompt=data.persona_prompt.strip(),
        voice_id=data.voice_id,
        visibility=data.visibility,
        speed=config.speed,
        nfe_steps=config.nfe_steps,
        cross_fade_duration=config.cross_fade_duration,
        remove_silences=config.remove_silences,
        image_seq=len(prepared),
        owns_voice=owns_voice,
        images=[],
    )
    written: list[str] = []
    try:
        session.add(character)
        await _store_images(c, character, list(prepared), 0, written)
        audit.record(
            session,
            "character_created",
            actor_id=p.user_id,
            target_type="character",
            target_id=character.id,
        )
        activities.record(
            session,
            p.user_id,
            ActivityType.character_created,
            f"Character {activities.quoted(character.display_name)} created",
            character_id=character.id,
            voice_id=character.voice_id,
            details={"images": len(prepared)},
        )
        await session.commit()
    except BaseException:
        await session.rollback()
        await discard(c.blobs, written)
        raise
    return character


async def _store_images(
    c: Container,
    character: Character,
    prepared: list[PreparedImage],
    first: int,
    written: list[str],
) -> list[CharacterImage]:
    rows = []
    for n, item in enumerate(prepared, start=first):
        image_id = new_id()
        blob_key = f"characters/{character.id}/images/{image_id}.webp"
        thumb_key = f"characters/{character.id}/thumbs/{image_id}.webp"
        await c.blobs.put(blob_key, item.image.data, item.image.media_type)
        written.append(blob_key)
        await c.blobs.put(thumb_key, item.image.thumbnail, item.image.media_type)
        written.append(thumb_key)
        row = CharacterImage(
            id=image_id,
            key=str(n),
            position=n,
            label=item.upload.label.strip(),
            blob_key=blob_key,
            thumb_key=thumb_key,
            media_type=item.image.media_type,
            width=item.image.width,
            height=item.image.height,
            size_bytes=len(item.image.data),
            source_format=item.image.source_format,
            sha256=item.image.sha256,
        )
        character.images.append(row)
        rows.append(row)
    return rows


async def change_images(
    c: Container,
    session: AsyncSession,
    character_id: str,
    uploads: Sequence[ImageUpload],
    p: Principal,
    *,
    remove_keys: Sequence[str] = (),
    changes: CharacterUpdate | None = None,
) -> tuple[Character, list[CharacterImage], list[CharacterImage]]:
    """Add images under fresh keys (never reused), and in the same unit of work remove others
    and change fields (seed 001's PUT); returns the character, the new and the removed images."""
    await get_owned_character(session, character_id, p)
    # Decoding takes a while: no transaction (on SQLite, no snapshot) is held meanwhile.
    await session.rollback()
    prepared = await prepare_images(uploads)
    character = await get_owned_character(session, character_id, p)
    removed = [image_of(character, key) for key in dict.fromkeys(remove_keys)]
    written: list[str] = []
    try:
        if changes is not None:
            await _apply(session, character, changes, p)
        first = await _allocate_keys(session, character, len(prepared), len(removed))
        rows = await _store_images(c, character, prepared, first, written)
        removal_ids = _forget_images(session, character, removed)
        character.updated_at = utcnow()
        _record_images(session, character, p, changes, len(rows), [i.key for i in removed])
        await session.commit()
    except BaseException:
        await session.rollback()
        await discard(c.blobs, written)
        raise
    if removal_ids:
        await drain(c.sessions, c.blobs, removal_ids)
    return character, rows, removed


def _record_images(
    session: AsyncSession,
    character: Character,
    p: Principal,
    changes: CharacterUpdate | None,
    added: int,
    removed: list[str],
) -> None:
    """One activity for the unit: seed 001's PUT (fields and images at once) is an update;
    images added on their own are that."""
    name = activities.quoted(character.display_name)
    details = {"images_added": added, "images_removed": removed}
    if changes is not None:
        kind, message = ActivityType.character_updated, f"Character {name} updated"
        details["fields"] = sorted(changes.model_dump(exclude_unset=True))
    else:
        kind, message = ActivityType.character_image_added, f"Image added to character {name}"
    activities.record(
        session, character.owner_id, kind, message, character_id=character.id, details=details
    )


async def _allocate_keys(session: AsyncSession, character: Character, n: int, removing: int) -> int:
    """Take `n` keys from the character's counter, holding its row until commit, so concurrent
    uploads get distinct keys and the image cap counts what they committed."""
    seq = await session.scalar(
        update(Character)
        .where(Character.id == character.id)
        .values(image_seq=Character.image_seq + n)
        .returning(Character.image_seq)
        .execution_options(synchronize_session=False)
    )
    if seq is None:
        raise CharacterNotFound(f"no character {character.id}", character_id=character.id)
    stored = await session.scalar(
        select(func.count())
        .select_from(CharacterImage)
        .where(CharacterImage.character_id == character.id)
    )
    if (stored or 0) - removing + n > MAX_IMAGES:
        raise InvalidInput(f"a character has at most {MAX_IMAGES} images", max_images=MAX_IMAGES)
    character.image_seq = seq
    return int(seq) - n


def _forget_images(
    session: AsyncSession, character: Character, images: Sequence[CharacterImage]
) -> list[str]:
    removal_ids = []
    for image in images:
        character.images.remove(image)  # delete-orphan: the row goes with the flush
        for key in (image.blob_key, image.thumb_key):
            removal_ids.append(enqueue(session, key, "character_image_removed").id)
    return removal_ids


async def remove_image(
    c: Container, session: AsyncSession, character_id: str, key: str, p: Principal
) -> None:
    """Remove one image and its thumbnail; its key is not given out again."""
    character = await get_owned_character(session, character_id, p)
    image = image_of(character, key)
    removal_ids = _forget_images(session, character, [image])
    character.updated_at = utcnow()
    activities.record(
        session,
        character.owner_id,
        ActivityType.character_image_removed,
        f"Image removed from character {activities.quoted(character.display_name)}",
        character_id=character.id,
        details={"key": key},
    )
    await session.commit()
    await drain(c.sessions, c.blobs, removal_ids)


async def update_character(
    session: AsyncSession, character_id: str, changes: CharacterUpdate, p: Principal
) -> Character:
    """Change a character's fields or synthesis config."""
    character = await get_owned_character(session, character_id, p)
    await _apply(session, character, changes, p)
    character.updated_at = utcnow()
    activities.record(
        session,
        character.owner_id,
        ActivityType.character_updated,
        f"Character {activities.quoted(character.display_name)} updated",
        character_id=character.id,
        voice_id=character.voice_id,
        details={"fields": sorted(changes.model_dump(exclude_unset=True))},
    )
    await session.commit()
    return character


async def _apply(
    session: AsyncSession, character: Character, changes: CharacterUpdate, p: Principal
) -> None:
    fields = changes.model_dump(exclude_unset=True, exclude={"config"})
    if "voice_id" in fields and fields["voice_id"] != character.voice_id:
        await get_voice(session, fields["voice_id"], p)
        character.owns_voice = False  # a voice chosen later is the caller's own object
    for field, value in fields.items():
        setattr(character, field, value.strip() if isinstance(value, str) else value)
    if changes.config is not None:
        for field, value in changes.config.model_dump(exclude_unset=True).items():
            setattr(character, field, value)


@dataclass(frozen=True)
class Deleted:
    """What a deletion removed: the image keys, their blobs, and the voice made with it."""

    image_keys: list[str]
    blob_keys: list[str]
    voice_id: str | None


async def delete_character(
    c: Container, session: AsyncSession, character_id: str, p: Principal
) -> Deleted:
    """Delete a character, its images and stars, and the voice made for it (seed 001's audio).

    The rows and the promise to remove every blob under the character commit together; the
    blobs go right after, or, if the store fails, on a later sweep. A voice chosen from the
    library is the owner's own object and stays.
    """
    character = await get_owned_character(session, character_id, p)
    image_keys = [image.key for image in character.images]
    blob_keys = [k for image in character.images for k in (image.blob_key, image.thumb_key)]
    own_voice = character.voice_id if character.owns_voice else None
    await session.delete(character)
    removal = enqueue(session, f"characters/{character_id}/", "character_deleted")
    audit.record(
        session,
        "character_deleted",
        actor_id=p.user_id,
        target_type="character",
        target_id=character_id,
        owner_id=character.owner_id,
    )
    activities.record(
        session,
        character.owner_id,
        ActivityType.character_deleted,
        f"Character {activities.quoted(character.display_name)} deleted",
        character_id=character_id,
        voice_id=own_voice,
    )
    await session.commit()
    await drain(c.sessions, c.blobs, [removal.id])
    if own_voice is not None:
        try:  # made for the character: gone with it, in the character's activity
            await voices.delete_voice(c, session, own_voice, p, log_activity=False)
        except (VoiceNotFound, Forbidden):
            own_voice = None  # gone already, or no longer the caller's to delete
    return Deleted(image_keys, blob_keys, own_voice)


async def set_star(
    session: AsyncSession, character_id: str, p: Principal, starred: bool
) -> tuple[int, bool]:
    """Star (once per user, however often asked) or unstar a character the caller can see;
    returns the count after."""
    await get_character(session, character_id, p)
    try:
        if starred:
            await _insert_star(session, character_id, p.user_id)
        else:
            await session.execute(
                delete(CharacterStar).where(
                    CharacterStar.character_id == character_id, CharacterStar.user_id == p.user_id
                )
            )
        await session.commit()
    except IntegrityError as exc:  # the character was deleted meanwhile
        await session.rollback()
        raise CharacterNotFound(f"no character {character_id}") from exc
    counts = await star_counts(session, [character_id])
    return counts.get(character_id, 0), starred


async def _insert_star(session: AsyncSession, character_id: str, user_id: str) -> None:
    # ON CONFLICT DO NOTHING: two concurrent stars by one user are one star, with no error.
    values = {"character_id": character_id, "user_id": user_id, "created_at": utcnow()}
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(pg_insert(CharacterStar).values(values).on_conflict_do_nothing())
    else:
        await session.execute(sqlite_insert(CharacterStar).values(values).on_conflict_do_nothing())


__all__ = [
    "Deleted",
    "ImageUpload",
    "PreparedImage",
    "change_images",
    "create_character",
    "delete_character",
    "get_character",
    "get_owned_character",
    "image_of",
    "list_characters",
    "prepare_images",
    "remove_image",
    "set_star",
    "star_counts",
    "starred_by",
    "update_character",
]
