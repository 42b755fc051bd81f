"""/api/v1/characters: personas with a voice, images, a synthesis config and stars.

A character is created from JSON (its config validated as a nested object) and its images are
added one request each, as multipart with a label: each image is refused or stored on its own,
and a large upload never has to be repeated because a text field was wrong.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.forms import FormRoute
from voxhub.characters import service
from voxhub.characters.models import CharacterImage
from voxhub.characters.schemas import (
    CharacterCreate,
    CharacterImageRead,
    CharacterPage,
    CharacterRead,
    CharacterUpdate,
    StarRead,
)
from voxhub.characters.service import ImageUpload
from voxhub.characters.views import image_read, read_many, read_one

router = APIRouter(prefix="/api/v1/characters", tags=["characters"], route_class=FormRoute)
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {
    404: {"description": "No such character visible to you (`character_not_found`)"}
}
IMAGE_REFUSALS: Responses = {
    413: {"description": "Image over 10 MiB (`image_too_large`)"},
    415: {"description": "Not a PNG, JPEG, GIF or WebP image (`unsupported_media_type`)"},
    422: {
        "description": "Over 25 megapixels or 10,000 px a side, read from the header before "
        "decoding (`image_too_many_pixels`); undecodable data (`image_undecodable`); more "
        "than 20 images"
    },
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CharacterRead,
    responses={404: {"description": "The voice is not yours nor public (`voice_not_found`)"}},
)
async def create_character(
    data: CharacterCreate, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> CharacterRead:
    """Create a character; add its images with `POST /api/v1/characters/{id}/images`."""
    character = await service.create_character(c, session, data, p)
    return await read_one(session, character, p)


@router.get("", response_model=CharacterPage)
async def list_characters(
    session: SessionDep,
    p: CurrentPrincipal,
    mine: Annotated[bool, Query(description="Only your own characters")] = False,
    public: Annotated[bool, Query(description="Only public characters")] = False,
    q: Annotated[str | None, Query(max_length=200, description="In name or description")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CharacterPage:
    """Characters you can see (yours and public ones), newest first, paginated by cursor."""
    items, next_cursor = await service.list_characters(
        session, p, mine=mine, public=public, q=q, limit=limit, cursor=cursor
    )
    return CharacterPage(items=await read_many(session, items, p), next_cursor=next_cursor)


@router.get("/{character_id}", response_model=CharacterRead, responses=NOT_FOUND)
async def get_character(
    character_id: str, session: SessionDep, p: CurrentPrincipal
) -> CharacterRead:
    """One character."""
    return await read_one(session, await service.get_character(session, character_id, p), p)


@router.patch(
    "/{character_id}",
    response_model=CharacterRead,
    responses={
        **NOT_FOUND,
        403: {"description": "Someone else's public character"},
    },
)
async def update_character(
    character_id: str, changes: CharacterUpdate, session: SessionDep, p: CurrentPrincipal
) -> CharacterRead:
    """Change a character's fields, voice, visibility or config (omitted fields stay)."""
    character = await service.update_character(session, character_id, changes, p)
    return await read_one(session, character, p)


@router.delete("/{character_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_character(
    character_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """Delete a character with its images and stars."""
    await service.delete_character(c, session, character_id, p)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{character_id}/images",
    status_code=status.HTTP_201_CREATED,
    response_model=CharacterImageRead,
    responses={**NOT_FOUND, **IMAGE_REFUSALS},
)
async def add_image(
    character_id: str,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="PNG, JPEG, GIF or WebP; stored as WebP")],
    label: Annotated[str, Form(max_length=40, description="e.g. confident, serious")] = "",
) -> CharacterImageRead:
    """Add an image under the next key ("0", "1", ...). It is decoded, re-encoded without
    metadata, reduced to its first frame if animated, and given a 256 px thumbnail."""
    upload = ImageUpload(await file.read(), label)
    _, rows, _ = await service.change_images(c, session, character_id, [upload], p)
    return image_read(character_id, rows[0])


@router.delete(
    "/{character_id}/images/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "`character_not_found` or `image_not_found`"}},
)
async def remove_image(
    character_id: str, key: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """Remove an image and its thumbnail."""
    await service.remove_image(c, session, character_id, key, p)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{character_id}/images/{key}",
    response_class=Response,
    responses={
        200: {"content": {"image/webp": {}}, "description": "The image"},
        304: {"description": "Not modified (If-None-Match)"},
        404: {"description": "`character_not_found` or `image_not_found`"},
    },
)
async def get_image(
    character_id: str,
    key: str,
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    thumbnail: Annotated[bool, Query(description="The 256 px thumbnail")] = False,
) -> Response:
    """An image of a character you can see."""
    character = await service.get_character(session, character_id, p)
    image = service.image_of(character, key)
    return await image_response(c, request, image, thumbnail)


async def image_response(
    c: ContainerDep, request: Request, image: CharacterImage, thumb: bool
) -> Response:
    """The stored bytes, with a validator so browsers revalidate instead of downloading again."""
    etag = f'"{image.sha256[:32]}{"-t" if thumb else ""}"'
    # Answers to signed-in requests: no shared cache keeps them, and a character made private
    # since is checked again on every use (no-cache revalidates; the ETag makes that cheap).
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    data = await c.blobs.get(image.thumb_key if thumb else image.blob_key)
    return Response(data, media_type=image.media_type, headers=headers)


@router.put("/{character_id}/star", response_model=StarRead, responses=NOT_FOUND)
async def star(character_id: str, session: SessionDep, p: CurrentPrincipal) -> StarRead:
    """Star a character you can see; starring again changes nothing."""
    stars, starred = await service.set_star(session, character_id, p, True)
    return StarRead(character_id=character_id, stars=stars, starred=starred)


@router.delete("/{character_id}/star", response_model=StarRead, responses=NOT_FOUND)
async def unstar(character_id: str, session: SessionDep, p: CurrentPrincipal) -> StarRead:
    """Take your star back; unstarring again changes nothing."""
    stars, starred = await service.set_star(session, character_id, p, False)
    return StarRead(character_id=character_id, stars=stars, starred=starred)
