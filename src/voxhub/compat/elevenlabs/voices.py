"""ElevenLabs' voices: list, get, delete, and instant cloning (`POST /v1/voices/add`), over
voxhub's voice service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.validation import parse
from voxhub.compat.elevenlabs.errors import ERROR_SCHEMA, ElevenLabsRoute
from voxhub.compat.elevenlabs.labels import labels_of, parse_labels
from voxhub.security.deps import limited
from voxhub.voices import service
from voxhub.voices.models import Voice
from voxhub.voices.schemas import VoiceCreate
from voxhub.voices.service import Upload

router = APIRouter(prefix="/v1/voices", tags=["compat: elevenlabs"], route_class=ElevenLabsRoute)
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"content": {"application/json": {"schema": ERROR_SCHEMA}}} for s in (401, 404, 422, 429)
}
# ElevenLabs' list "stops working once the workspace exceeds 500 voices": the same cap here.
MAX_LISTED = 500
_PAGE = 100


def voice_json(v: Voice, request: Request, user_id: str) -> dict[str, Any]:
    """A voice in ElevenLabs' `Voice` shape."""
    mine = v.owner_id == user_id
    return {
        "voice_id": v.id,
        "name": v.name,
        # Yours were cloned from your recordings; another's public voice is, to you, a stock one.
        "category": "cloned" if mine else "premade",
        "description": v.description,
        "labels": labels_of(v),
        "preview_url": f"{request.base_url}api/v1/voices/{v.id}/sample?format=mp3",
        "available_for_tiers": [],
        "settings": None,
        "high_quality_base_model_ids": [],
        "is_owner": mine,
        "is_legacy": False,
        "created_at_unix": int(v.created_at.timestamp()),
    }


@router.get("", dependencies=[limited("default")], responses=_ERRORS)
async def list_voices(
    request: Request, session: SessionDep, p: CurrentPrincipal, show_legacy: bool | None = None
) -> dict[str, Any]:
    """Every voice you can use (yours and public ones), newest first, up to 500."""
    voices: list[Voice] = []
    cursor: str | None = None
    while len(voices) < MAX_LISTED:
        page, cursor = await service.list_voices(
            session,
            p,
            mine=False,
            language=None,
            is_kids_voice=None,
            q=None,
            tag=None,
            limit=_PAGE,
            cursor=cursor,
        )
        voices += page
        if cursor is None:
            break
    return {"voices": [voice_json(v, request, p.user_id) for v in voices[:MAX_LISTED]]}


# Before "/{voice_id}": the first documented path that matches answers a 405's Allow.
@router.post("/add", dependencies=[limited("clone")], responses=_ERRORS)
async def add_voice(
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    files: Annotated[list[UploadFile], File(description="Recordings of one person")],
    description: Annotated[str, Form(max_length=2000)] = "",
    labels: Annotated[str | None, Form(max_length=4000, description="A JSON object")] = None,
    remove_background_noise: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    """Instant cloning: a voice from one or more recordings, usable at once."""
    language, tags = parse_labels(labels)
    meta = parse(
        VoiceCreate,
        name=name,
        description=description,
        language=language,
        tags=tags,
        denoise=remove_background_noise,
    )
    uploads = [Upload(await f.read(), f.filename) for f in files]
    voice, _ = await service.create_voice(c, session, uploads, meta, p)
    return {"voice_id": voice.id, "requires_verification": False}


@router.get("/{voice_id}", dependencies=[limited("default")], responses=_ERRORS)
async def get_voice(
    voice_id: str, request: Request, session: SessionDep, p: CurrentPrincipal
) -> dict[str, Any]:
    """One voice; 404 when it is not yours and not public."""
    voice = await service.get_voice(session, voice_id, p)
    return voice_json(voice, request, p.user_id)


@router.delete("/{voice_id}", dependencies=[limited("default")], responses=_ERRORS)
async def delete_voice(
    voice_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> dict[str, str]:
    """Delete a voice of yours with its references, profiles and generated audio."""
    await service.delete_voice(c, session, voice_id, p)
    return {"status": "ok"}
