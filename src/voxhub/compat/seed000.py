"""Seed 000 (the Echo backend): voice models, synthesis and users, over voxhub's voices.

Ids: a seed "voice model" is a voxhub voice, and its `model_id`, `reference_id` and record `_id`
are all the voice's id (`POST /api/synthesize` takes it as `reference_id`); an Echo is a voxhub
character (`seed000_echo`), `echo_id` its id. Every route needs voxhub credentials (API key or
bearer token), as the other faces do.

`user_id`, a plain field in the seed, must be the caller's own id (an admin may name any user,
and then acts for that user: the voice is theirs and charged to them); any other id answers 404
`{"error": "User not found"}`, as a missing user does. Without `user_id` an upload still makes
the caller's voice (a reference that is not stored could not be synthesised with), and the answer
is the seed's short one without `database_record`. Voice models are the caller's own: another
user's, public or not, answers 404 `{"error": "Voice model not found"}` on these routes
(`/api/synthesize` speaks any voice the caller may use, public ones included, as voxhub does).
Deleting a voice model deletes the voxhub voice (references, profiles, generated audio); Echos
that spoke with it keep their persona and lose their voice.

`POST /api/users/{id}`: accounts exist in voxhub already (sign-up), so nothing is created. With
the caller's id (an admin: any user's) it answers the user's record; an `email` in the body must
be the account's (409 otherwise: it is changed through the account, not here); any other id is 404.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.accounts.models import User
from voxhub.accounts.service import normalise_email
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.validation import parse
from voxhub.audio.encode import FORMATS
from voxhub.characters import service as characters
from voxhub.characters.schemas import CharacterUpdate
from voxhub.compat.seed000_route import Seed000Route
from voxhub.compat.seed000_shapes import (
    UserRecord,
    VoiceModelRecord,
    acting_as,
    owned_echo,
    owned_model,
    record,
    records,
    user_record,
)
from voxhub.core.errors import CharacterNotFound, Conflict, UserNotFound
from voxhub.safety.marking import generated_headers
from voxhub.security.deps import limited
from voxhub.synthesis import service as speech
from voxhub.synthesis.schemas import SPEAKABLE, AudioFormat, SpeechRequest
from voxhub.voices import service as voices
from voxhub.voices.filenames import clean_filename
from voxhub.voices.schemas import VoiceCreate

router = APIRouter(tags=["compat: seed 000"], route_class=Seed000Route)
MAX_LISTED = 500
Id = Annotated[str, Field(min_length=1, max_length=64)]
MISSING: dict[int | str, dict[str, Any]] = {
    404: {"description": '{"error": "Voice model not found"}'}
}


class Seed000Uploaded(BaseModel):
    success: bool
    model_id: str
    reference_id: str
    message: str
    database_record: VoiceModelRecord | None = Field(None, description="When user_id was sent")


class Seed000VoiceModels(BaseModel):
    voice_models: list[VoiceModelRecord]
    count: int


class Seed000VoiceModel(BaseModel):
    voice_model: VoiceModelRecord


class Seed000Linked(BaseModel):
    success: bool
    message: str
    voice_model: VoiceModelRecord


class Seed000Done(BaseModel):
    success: bool
    message: str


class Seed000Link(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    echo_id: Id


class Seed000Synthesize(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(min_length=1, max_length=200_000, json_schema_extra=SPEAKABLE)
    reference_id: Id
    format: AudioFormat = Field("mp3", description="voxhub's addition; the seed plays mp3")


class Seed000UserBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: str | None = Field(None, max_length=320)


class Seed000User(BaseModel):
    success: bool
    message: str
    user: UserRecord


@router.post(
    "/api/upload-reference",
    response_model=Seed000Uploaded,
    dependencies=[limited("clone")],
    responses={
        404: {"description": "No such user or Echo of yours"},
        413: {"description": "The file is over the upload limit"},
        415: {"description": "Not audio or video, or a video without an audio track"},
        422: {"description": "Unusable audio: undecodable, too short, too long, no speech"},
    },
)
async def upload_reference(
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    audio: Annotated[UploadFile, File(description="A recording (audio, or a video's sound)")],
    name: Annotated[str | None, Form(max_length=200)] = None,
    user_id: Annotated[str | None, Form(max_length=64)] = None,
    echo_id: Annotated[str | None, Form(max_length=64)] = None,
    file_type: Annotated[
        Literal["audio", "video"],
        Form(description="What the file is; the record says what it was found to be"),
    ] = "audio",
) -> Response:
    """Create a voice model from a recording (and link it to an Echo of yours)."""
    who = await acting_as(session, p, user_id)
    echo = (await owned_echo(session, echo_id, who)).id if echo_id else None  # before any work
    stem = PurePath(clean_filename(audio.filename)).stem
    meta = parse(VoiceCreate, name=(name or "").strip() or stem or "Voice")
    upload = voices.Upload(await audio.read(), audio.filename)
    voice, _ = await voices.create_voice(c, session, [upload], meta, who)
    if echo is not None:
        try:
            await characters.update_character(
                session, echo, CharacterUpdate(voice_id=voice.id), who
            )
        except BaseException:
            await voices.delete_voice(c, session, voice.id, who)  # nothing half-made stays
            raise
    voice = await voices.get_voice(session, voice.id, who)
    saved = user_id is not None
    body = Seed000Uploaded(
        success=True,
        model_id=voice.id,
        reference_id=voice.id,
        message="Reference audio uploaded successfully"
        + (" and saved to database" if saved else ""),
        database_record=record(voice, echo) if saved else None,
    ).model_dump(mode="json", by_alias=True)
    if not saved:
        del body["database_record"]  # the seed's answer without a user has no such field
    return JSONResponse(body)


@router.post(
    "/api/synthesize",
    response_class=Response,
    dependencies=[limited("tts")],
    responses={
        200: {
            "description": "The speech (mp3 unless `format` says otherwise)",
            "content": {"audio/mpeg": {}, "audio/wav": {}},
        },
        402: {"description": "Not enough credits"},
        404: {"description": '{"error": "Voice model not found"}'},
        503: {"description": "The engine is not available"},
    },
)
async def synthesize(
    body: Seed000Synthesize, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """Speak `text` in the voice model `reference_id`."""
    req = parse(SpeechRequest, voice_id=body.reference_id, text=body.text, format=body.format)
    gen, data, _ = await speech.speak(c, session, req, p, "sync")
    return Response(
        data, media_type=FORMATS[gen.format].media_type, headers=generated_headers(gen.id)
    )


@router.get(
    "/api/voice-models",
    response_model=Seed000VoiceModels,
    responses={404: {"description": '{"error": "User not found"}'}},
)
async def list_voice_models(
    session: SessionDep,
    p: CurrentPrincipal,
    user_id: Annotated[str | None, Query(max_length=64, description="Yours by default")] = None,
) -> Seed000VoiceModels:
    """A user's voice models, newest first."""
    who = await acting_as(session, p, user_id)
    items, _ = await voices.list_voices(session, who, mine=True, limit=MAX_LISTED)
    found = await records(session, items)
    return Seed000VoiceModels(voice_models=found, count=len(found))


@router.get("/api/voice-models/{model_id}", response_model=Seed000VoiceModel, responses=MISSING)
async def get_voice_model(
    model_id: str, session: SessionDep, p: CurrentPrincipal
) -> Seed000VoiceModel:
    """One of your voice models."""
    voice = await owned_model(session, model_id, p)
    return Seed000VoiceModel(voice_model=(await records(session, [voice]))[0])


@router.patch(
    "/api/voice-models/{model_id}",
    response_model=Seed000Linked,
    responses={404: {"description": "No such voice model or Echo of yours"}},
)
async def link_voice_model(
    model_id: str, body: Seed000Link, session: SessionDep, p: CurrentPrincipal
) -> Seed000Linked:
    """Link a voice model to an Echo: the Echo speaks with it from now on."""
    voice = await owned_model(session, model_id, p)
    echo = await owned_echo(session, body.echo_id, p)
    if echo.owner_id != voice.owner_id:  # not even an admin links two users' objects
        raise CharacterNotFound(f"no echo {body.echo_id} of the voice model's owner")
    await characters.update_character(session, echo.id, CharacterUpdate(voice_id=voice.id), p)
    voice = await owned_model(session, model_id, p)
    return Seed000Linked(
        success=True, message="Voice model linked to Echo", voice_model=record(voice, echo.id)
    )


@router.delete("/api/voice-models/{model_id}", response_model=Seed000Done, responses=MISSING)
async def delete_voice_model(
    model_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Seed000Done:
    """Delete one of your voice models (the voice, its references and profiles)."""
    voice = await owned_model(session, model_id, p)
    await voices.delete_voice(c, session, voice.id, p)
    return Seed000Done(success=True, message="Voice model deleted")


@router.post(
    "/api/users/{user_id}",
    response_model=Seed000User,
    responses={
        404: {"description": '{"error": "User not found"}'},
        409: {"description": "The email is not this account's"},
    },
)
async def user(
    user_id: str,
    session: SessionDep,
    p: CurrentPrincipal,
    body: Annotated[Seed000UserBody | None, Body()] = None,
) -> Seed000User:
    """Your user record (accounts are made by sign-up; this creates nothing)."""
    who = await acting_as(session, p, user_id)
    account = await session.get(User, who.user_id)
    if account is None:
        raise UserNotFound(f"no user {user_id}")
    if body is not None and body.email is not None and normalise_email(body.email) != account.email:
        raise Conflict("this is not the account's email; change it through the account")
    return Seed000User(success=True, message="User exists", user=user_record(account))
