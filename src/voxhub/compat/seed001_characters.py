"""Seed 001's character routes and the static files they link, over the characters service.

Shapes are seed 001's (camelCase, `images` as a {"0": url} map, `starred` a count). What voxhub
adds: a character is private unless the form says `visibility=public` (`GET /api/characters`
lists public ones, yours included); images are checked and re-encoded as on the primary API and
served as WebP; the static files of a private character are served to its owner only (anonymous
requests, as an <img> tag makes, get public characters' files). `audioFile` makes a voxhub voice
through the voices service (a clone, charged as one), owned by the character and deleted with it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.deps import CurrentPrincipal, MaybePrincipal
from voxhub.accounts.models import User
from voxhub.accounts.principal import Principal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.forms import FormRoute
from voxhub.api.ranges import ranged
from voxhub.api.validation import parse
from voxhub.audio.encode import encode
from voxhub.characters import service
from voxhub.characters.models import Character
from voxhub.characters.router import image_response
from voxhub.characters.schemas import (
    CharacterCreate,
    CharacterUpdate,
    SynthesisConfig,
    SynthesisConfigUpdate,
    Visibility,
)
from voxhub.characters.service import ImageUpload
from voxhub.compat.seed001 import Seed001Route
from voxhub.core.errors import (
    AudioFileNotFound,
    CharacterNotFound,
    ImageNotFound,
    VoiceNotFound,
)
from voxhub.voices import service as voices
from voxhub.voices.models import Voice
from voxhub.voices.profiles import load_reference_audio
from voxhub.voices.schemas import VoiceCreate


class Seed001FormRoute(Seed001Route, FormRoute):
    """Seed 001's 400 for a short balance, with voxhub's form limits."""


router = APIRouter(tags=["compat: seed 001"], route_class=Seed001FormRoute)
IMAGES = "/api/static/images"
AUDIO = "/api/static/audio_files"
_STATIC_IMAGE = re.compile(r"^([0-9a-f-]{36})_(\d{1,9})\.webp$")
_STATIC_AUDIO = re.compile(r"^([0-9a-f-]{36})\.wav$")
MAX_LISTED = 500
REMOVE_KEYS = r"^\s*(\d{1,9}\s*(,\s*\d{1,9}\s*)*)?$"


class Seed001Config(BaseModel):
    speed: float
    nfeSteps: int
    crossFadeDuration: float
    removeSilences: bool


class Seed001Character(BaseModel):
    id: str
    displayName: str
    audioFile: str | None
    config: Seed001Config
    images: dict[str, str]
    outputPrefix: str
    createdAt: datetime
    updatedAt: datetime
    hasAudio: bool
    imageCount: int
    createdBy: str
    createdByName: str
    isOwner: bool
    starred: int
    isStarred: bool
    # voxhub's own, beside the seed's fields
    visibility: str
    imageLabels: dict[str, str]


class Seed001Deleted(BaseModel):
    message: str
    deletedFiles: list[str]


class Seed001Star(BaseModel):
    success: bool = True
    message: str
    characterId: str
    starred: int
    isStarred: bool


def _prefix(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug[:60] or "character"


async def _shaped(
    session: AsyncSession, characters: Sequence[Character], p: Principal | None
) -> list[Seed001Character]:
    ids = [ch.id for ch in characters]
    counts = await service.star_counts(session, ids)
    mine = await service.starred_by(session, ids, p)
    owners = {ch.owner_id for ch in characters}
    names = dict(
        (await session.execute(select(User.id, User.name).where(User.id.in_(owners)))).all()
    )
    return [
        Seed001Character(
            id=ch.id,
            displayName=ch.display_name,
            audioFile=f"{AUDIO}/{ch.id}.wav" if ch.voice_id else None,
            config=Seed001Config(
                speed=ch.speed,
                nfeSteps=ch.nfe_steps,
                crossFadeDuration=ch.cross_fade_duration,
                removeSilences=ch.remove_silences,
            ),
            images={i.key: f"{IMAGES}/{ch.id}_{i.key}.webp" for i in ch.images},
            outputPrefix=_prefix(ch.display_name),
            createdAt=ch.created_at,
            updatedAt=ch.updated_at,
            hasAudio=ch.voice_id is not None,
            imageCount=len(ch.images),
            createdBy=ch.owner_id,
            createdByName=names.get(ch.owner_id, ""),
            isOwner=p is not None and p.user_id == ch.owner_id,
            starred=counts.get(ch.id, 0),
            isStarred=ch.id in mine,
            visibility=ch.visibility,
            imageLabels={i.key: i.label for i in ch.images},
        )
        for ch in characters
    ]


async def _one(session: AsyncSession, character: Character, p: Principal) -> Seed001Character:
    return (await _shaped(session, [character], p))[0]


def _images(*groups: list[UploadFile] | None) -> list[UploadFile]:
    return [f for group in groups for f in (group or [])]


async def _read(files: list[UploadFile]) -> list[ImageUpload]:
    return [ImageUpload(await f.read()) for f in files]


@router.get("/api/characters", response_model=list[Seed001Character])
async def list_public(
    session: SessionDep,
    p: MaybePrincipal,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
) -> list[Seed001Character]:
    """Public characters, newest first (no sign-in needed; `isOwner`/`isStarred` need one)."""
    items, _ = await service.list_characters(session, p, public=True, limit=limit)
    return await _shaped(session, items, p)


@router.get("/api/my-characters", response_model=list[Seed001Character])
async def list_mine(
    session: SessionDep,
    p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = MAX_LISTED,
) -> list[Seed001Character]:
    """The characters you created, newest first."""
    items, _ = await service.list_characters(session, p, mine=True, limit=limit)
    return await _shaped(session, items, p)


@router.post(
    "/api/characters/complete",
    response_model=Seed001Character,
    responses={
        400: {"description": "Not enough credits for the clone (`insufficient_credits`)"},
        413: {"description": "An image over 10 MiB; the body over its cap"},
        415: {"description": "audioFile is not audio, or an image is not an image"},
        422: {"description": "Unusable audio, an image with too many pixels, bad fields"},
    },
)
async def create_complete(
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    displayName: Annotated[str, Form(min_length=1, max_length=200)],
    audioFile: Annotated[UploadFile, File(description="A recording of the voice (3 s to 5 min)")],
    speed: Annotated[float | None, Form(ge=0.5, le=2.0)] = None,
    nfeSteps: Annotated[int | None, Form(ge=1, le=64)] = None,
    crossFadeDuration: Annotated[float | None, Form(ge=0.0, le=2.0)] = None,
    removeSilences: Annotated[bool | None, Form()] = None,
    visibility: Annotated[Visibility, Form(description="private (default) or public")] = "private",
    imageFiles: Annotated[list[UploadFile] | None, File()] = None,
    imageFilesBracketed: Annotated[
        list[UploadFile] | None, File(alias="imageFiles[]", description="Same as imageFiles")
    ] = None,
) -> Seed001Character:
    """Create a character from its voice recording and images in one request."""
    given: dict[str, Any] = {
        "speed": speed,
        "nfe_steps": nfeSteps,
        "cross_fade_duration": crossFadeDuration,
        "remove_silences": removeSilences,
    }
    config = parse(SynthesisConfig, **{k: v for k, v in given.items() if v is not None})
    meta = parse(VoiceCreate, name=displayName, visibility=visibility)
    data = parse(
        CharacterCreate,
        display_name=displayName,
        voice_id="to be made",
        visibility=visibility,
        config=config,
    )
    # Every field and image is checked before the voice is made: a refusal leaves nothing.
    prepared = await service.prepare_images(await _read(_images(imageFiles, imageFilesBracketed)))
    audio = voices.Upload(await audioFile.read(), audioFile.filename)
    # The voice is the character's (its activity is the character's creation, not a voice's).
    voice, _ = await voices.create_voice(c, session, [audio], meta, p, log_activity=False)
    try:
        character = await service.create_character(
            c, session, data.model_copy(update={"voice_id": voice.id}), p, prepared, owns_voice=True
        )
    except BaseException:
        # The voice was made for it alone.
        await voices.delete_voice(c, session, voice.id, p, log_activity=False)
        raise
    return await _one(session, character, p)


@router.put(
    "/api/characters/{character_id}",
    response_model=Seed001Character,
    responses={404: {"description": "No such character of yours, or no such image key"}},
)
async def update(
    character_id: str,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    displayName: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
    speed: Annotated[float | None, Form(ge=0.5, le=2.0)] = None,
    nfeSteps: Annotated[int | None, Form(ge=1, le=64)] = None,
    crossFadeDuration: Annotated[float | None, Form(ge=0.0, le=2.0)] = None,
    removeSilences: Annotated[bool | None, Form()] = None,
    visibility: Annotated[Visibility | None, Form(description="private or public")] = None,
    removeImageKeys: Annotated[
        str, Form(max_length=2000, pattern=REMOVE_KEYS, description='Image keys, e.g. "0,2"')
    ] = "",
    newImageFiles: Annotated[list[UploadFile] | None, File()] = None,
    newImageFilesBracketed: Annotated[
        list[UploadFile] | None, File(alias="newImageFiles[]", description="Same as newImageFiles")
    ] = None,
) -> Seed001Character:
    """Change fields and config, add images and remove others (owner only), in one unit."""
    given: dict[str, Any] = {
        "speed": speed,
        "nfe_steps": nfeSteps,
        "cross_fade_duration": crossFadeDuration,
        "remove_silences": removeSilences,
    }
    config = {k: v for k, v in given.items() if v is not None}
    fields: dict[str, Any] = {"display_name": displayName, "visibility": visibility}
    changes_given = {k: v for k, v in fields.items() if v is not None}
    if config:
        changes_given["config"] = parse(SynthesisConfigUpdate, **config)
    changes = parse(CharacterUpdate, **changes_given)
    keys = [k.strip() for k in removeImageKeys.split(",") if k.strip()]
    uploads = await _read(_images(newImageFiles, newImageFilesBracketed))
    character, _, _ = await service.change_images(
        c, session, character_id, uploads, p, remove_keys=keys, changes=changes
    )
    return await _one(session, character, p)


@router.delete("/api/characters/{character_id}", response_model=Seed001Deleted)
async def delete(
    character_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Seed001Deleted:
    """Delete a character (owner only) with its images and the voice made for it."""
    deleted = await service.delete_character(c, session, character_id, p)
    files = [f"{AUDIO}/{character_id}.wav"] if deleted.voice_id else []
    files += [f"{IMAGES}/{character_id}_{key}.webp" for key in deleted.image_keys]
    return Seed001Deleted(
        message=f"Character '{character_id}' deleted successfully", deletedFiles=files
    )


async def _star(session: AsyncSession, character_id: str, p: Principal, on: bool) -> Seed001Star:
    stars, starred = await service.set_star(session, character_id, p, on)
    word = "starred" if on else "unstarred"
    return Seed001Star(
        message=f"Character {word} successfully",
        characterId=character_id,
        starred=stars,
        isStarred=starred,
    )


@router.post("/api/characters/{character_id}/star", response_model=Seed001Star)
async def star(character_id: str, session: SessionDep, p: CurrentPrincipal) -> Seed001Star:
    """Star a character you can see (once per user)."""
    return await _star(session, character_id, p, True)


@router.delete("/api/characters/{character_id}/star", response_model=Seed001Star)
async def unstar(character_id: str, session: SessionDep, p: CurrentPrincipal) -> Seed001Star:
    """Take your star back."""
    return await _star(session, character_id, p, False)


@router.get(
    IMAGES + "/{filename}",
    response_class=Response,
    responses={200: {"content": {"image/webp": {}}, "description": "The image"}},
)
async def static_image(
    filename: str,
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    p: MaybePrincipal,
    thumbnail: bool = False,
) -> Response:
    """A character's image, as its `images` map links it; private ones to their owner only."""
    match = _STATIC_IMAGE.match(filename)
    if match is None:
        raise ImageNotFound(f"no image {filename}")
    try:
        character = await service.get_character(session, match[1], p)
    except CharacterNotFound as exc:
        raise ImageNotFound(f"no image {filename}") from exc
    image = service.image_of(character, match[2])
    return await image_response(c, request, image, thumbnail)


@router.get(
    AUDIO + "/{filename}",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "The voice's cleaned reference"},
        206: {"content": {"audio/wav": {}}, "description": "The range asked for"},
        416: {"description": "The range is outside the file"},
    },
)
async def static_audio(
    filename: str, request: Request, c: ContainerDep, session: SessionDep, p: MaybePrincipal
) -> Response:
    """A character's voice as WAV, with HTTP range requests; only where the voice may be heard
    by the caller (a public voice, or one of theirs)."""
    match = _STATIC_AUDIO.match(filename)
    missing = AudioFileNotFound(f"no audio file {filename}")
    if match is None:
        raise missing
    try:
        character = await service.get_character(session, match[1], p)
        if character.voice_id is None:
            raise missing
        voice = await voices.get_voice(session, character.voice_id, p) if p else None
    except (CharacterNotFound, VoiceNotFound) as exc:
        raise missing from exc
    if voice is None:
        voice = await session.get(Voice, character.voice_id)
        if voice is None or voice.visibility != "public":
            raise missing
    reference = await load_reference_audio(c, voice)
    data = await asyncio.to_thread(encode, reference.samples, reference.sample_rate, "wav")
    return ranged(data, "audio/wav", request.headers.get("range"))
