"""OpenAI's speech API on voxhub: code written for it works by changing `base_url`.

`POST /v1/audio/speech` speaks in a voxhub voice, `GET /v1/models` lists what `model` may name,
`GET /v1/audio/voices` the voices the key may use (OpenAI has no such route; its SDK reaches it
with `client.get`). Keys are voxhub API keys, sent as OpenAI's SDK sends them (`Authorization:
Bearer`). What each field means here: `voxhub.compat.openai_speech`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.audio.encode import FORMATS
from voxhub.compat.elevenlabs.formats import elevenlabs_models
from voxhub.compat.openai_route import ERROR_SCHEMA, OpenAIRoute
from voxhub.compat.openai_speech import (
    OPENAI_MODELS,
    OpenAISpeechRequest,
    engine_for,
    speech_request,
    sse_events,
    voice_id_for,
)
from voxhub.container import Container
from voxhub.core.errors import EngineNotFound
from voxhub.security.deps import limited
from voxhub.synthesis.streaming import open_stream
from voxhub.voices.queries import list_voices

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": what, "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    for status, what in [
        (400, "A missing or malformed parameter (`param` names it)"),
        (401, "No valid API key"),
        (402, "Not enough credits"),
        (404, "No such voice or model"),
        (413, "Text over the limit"),
        (429, "Rate limited (`Retry-After`)"),
        (503, "No engine free (`Retry-After`)"),
    ]
}
router = APIRouter(tags=["openai"], route_class=OpenAIRoute, responses=_ERRORS)


@router.post(
    "/v1/audio/speech",
    response_class=StreamingResponse,
    dependencies=[limited("tts")],
    responses={
        200: {
            "description": "The audio, chunked as it is made; `text/event-stream` for `sse`",
            "content": {
                **{FORMATS[f].media_type: {} for f in ("mp3", "opus", "aac", "flac", "wav")},
                "audio/pcm": {},
                "text/event-stream": {},
            },
        }
    },
)
async def create_speech(
    body: OpenAISpeechRequest, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> StreamingResponse:
    """Speak `input` in `voice`, like OpenAI's `audio.speech.create`."""
    engine = engine_for(c, body.model)
    voice_id = await voice_id_for(session, body.voice_name, p)
    opened = await open_stream(c, session, speech_request(body, voice_id, engine), p)
    if body.stream_format == "sse":
        return StreamingResponse(
            sse_events(opened.chunks, opened.spoken),
            media_type="text/event-stream",
            headers=opened.headers,
        )
    # OpenAI labels raw samples audio/pcm; voxhub's own API says audio/L16.
    media_type = "audio/pcm" if body.response_format == "pcm" else opened.media_type
    return StreamingResponse(opened.chunks, media_type=media_type, headers=opened.headers)


def _models(c: Container) -> list[dict[str, Any]]:
    names = [*OPENAI_MODELS, *(engine.info.name for engine in c.engines.all())]
    # voxhub does not date its engines: `created` is 0 for every model.
    return [{"id": name, "object": "model", "created": 0, "owned_by": "voxhub"} for name in names]


_MODEL_LISTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "OpenAI's list; to a caller sending `xi-api-key`, ElevenLabs' (an array)",
        "content": {
            "application/json": {"schema": {"anyOf": [{"type": "object"}, {"type": "array"}]}}
        },
    }
}


@router.get("/v1/models", response_model=None, responses=_MODEL_LISTS)
async def list_models(request: Request, c: ContainerDep, _: CurrentPrincipal) -> Any:
    """The names `model` (OpenAI) or `model_id` (ElevenLabs) may take. Both APIs have this
    path; ElevenLabs' SDK is the one that authenticates with `xi-api-key`, so that header
    picks its shape."""
    if "xi-api-key" in request.headers:
        return elevenlabs_models(c)
    return {"object": "list", "data": _models(c)}


@router.get("/v1/models/{model}")
async def get_model(model: str, c: ContainerDep, _: CurrentPrincipal) -> dict[str, Any]:
    """One model."""
    for entry in _models(c):
        if entry["id"] == model:
            return entry
    raise EngineNotFound(f"The model '{model}' does not exist", param="model")


@router.get("/v1/audio/voices")
async def list_audio_voices(
    session: SessionDep,
    p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor`")] = None,
) -> dict[str, Any]:
    """The voices this key may name in `voice`: its own and public ones, newest first."""
    voices, next_cursor = await list_voices(session, p, limit=limit, cursor=cursor)
    data = [
        {
            "id": v.id,
            "object": "voice",
            "name": v.name,
            "language": v.language,
            "owned": v.owner_id == p.user_id,
        }
        for v in voices
    ]
    return {
        "object": "list",
        "data": data,
        "has_more": next_cursor is not None,
        "next_cursor": next_cursor,
    }
