"""ElevenLabs' text to speech: `POST /v1/text-to-speech/{voice_id}` and its stream and
timestamps variants, over voxhub's speech service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.audio.encode import FORMATS
from voxhub.compat.elevenlabs import speech_service as svc
from voxhub.compat.elevenlabs.errors import ERROR_SCHEMA, ElevenLabsRoute
from voxhub.compat.elevenlabs.formats import OUTPUT_FORMAT_SCHEMA
from voxhub.compat.elevenlabs.speech_service import TextToSpeech
from voxhub.safety.marking import generated_headers
from voxhub.security.deps import limited
from voxhub.synthesis import service
from voxhub.synthesis.streaming import open_stream

router = APIRouter(
    prefix="/v1/text-to-speech",
    tags=["compat: elevenlabs"],
    route_class=ElevenLabsRoute,
    dependencies=[limited("tts")],
)
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"content": {"application/json": {"schema": ERROR_SCHEMA}}}
    for s in (401, 402, 404, 413, 422, 429, 503)
}
_AUDIO = {200: {"content": {"audio/mpeg": {}}, "description": "The audio"}} | _ERRORS
# Accepted and ignored, as documented by ElevenLabs: voxhub keeps its history either way and
# has one latency mode (the first sentence is already cut short when streaming).
OutputFormat = Annotated[
    str | None,
    Query(
        max_length=40,
        description="codec_rate[_kbps], e.g. mp3_44100_128 (the default), pcm_16000, ulaw_8000",
        # Told, not enforced here: `parse_output_format` answers with what voxhub does write.
        json_schema_extra={"pattern": OUTPUT_FORMAT_SCHEMA},
    ),
]
EnableLogging = Annotated[bool | None, Query(description="Accepted; ignored")]
Latency = Annotated[int | None, Query(ge=0, le=4, description="Accepted; ignored")]


@router.post("/{voice_id}", response_class=Response, responses=_AUDIO)
async def text_to_speech(
    voice_id: str,
    body: TextToSpeech,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    output_format: OutputFormat = None,
    enable_logging: EnableLogging = None,
    optimize_streaming_latency: Latency = None,
) -> Response:
    """Speak `text` in a voice (ElevenLabs' convert)."""
    req = await svc.speech_request(c, session, p, voice_id, body, output_format)
    gen, data, hit = await service.speak(c, session, req, p, "sync")
    headers = {
        "request-id": gen.id,
        "history-item-id": gen.id,
        "X-Voxhub-Cache": "hit" if hit else "miss",
    } | generated_headers(gen.id)
    return Response(data, media_type=FORMATS[req.format].media_type, headers=headers)


@router.post("/{voice_id}/stream", response_class=StreamingResponse, responses=_AUDIO)
async def text_to_speech_stream(
    voice_id: str,
    body: TextToSpeech,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    output_format: OutputFormat = None,
    enable_logging: EnableLogging = None,
    optimize_streaming_latency: Latency = None,
) -> StreamingResponse:
    """Speak `text` as a chunked stream, sentence by sentence."""
    req = await svc.speech_request(c, session, p, voice_id, body, output_format)
    opened = await open_stream(c, session, req, p)
    gen_id = opened.headers["X-Voxhub-Generation-Id"]
    # ElevenLabs' own names for the request id and the characters billed.
    xi = {"request-id": gen_id, "history-item-id": gen_id, "x-character-count": str(opened.spoken)}
    return StreamingResponse(
        opened.chunks, media_type=opened.media_type, headers=opened.headers | xi
    )


@router.post("/{voice_id}/with-timestamps", responses=_ERRORS)
async def text_to_speech_with_timestamps(
    voice_id: str,
    body: TextToSpeech,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    output_format: OutputFormat = None,
    enable_logging: EnableLogging = None,
    optimize_streaming_latency: Latency = None,
) -> Response:
    """The audio in base64 with each character's start and end time (`alignment`)."""
    req = await svc.speech_request(c, session, p, voice_id, body, output_format)
    answer, headers = await svc.speak_timed(c, session, req, p)
    return Response(answer, media_type="application/json", headers=headers)


@router.post(
    "/{voice_id}/stream/with-timestamps", response_class=StreamingResponse, responses=_ERRORS
)
async def text_to_speech_stream_with_timestamps(
    voice_id: str,
    body: TextToSpeech,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    output_format: OutputFormat = None,
    enable_logging: EnableLogging = None,
    optimize_streaming_latency: Latency = None,
) -> StreamingResponse:
    """A stream of JSON lines: audio in base64 and the characters it settles, with times."""
    req = await svc.speech_request(c, session, p, voice_id, body, output_format)
    lines, headers = await svc.open_timed(c, session, req, p)
    return StreamingResponse(lines, media_type="application/x-ndjson", headers=headers)
