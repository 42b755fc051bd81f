"""ElevenLabs' text to speech, as voxhub speech requests: audio, a stream, and either with
character timings. Limits, prices, the cache and the stream are voxhub's own
(`voxhub.synthesis.service` and `.streaming`)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncGenerator, AsyncIterator

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.api.validation import parse
from voxhub.compat.elevenlabs.formats import engine_for_model, parse_output_format
from voxhub.container import Container
from voxhub.core.errors import VoiceNotFound
from voxhub.safety.marking import generated_headers
from voxhub.synthesis.alignment import Aligner, Chars, Timed, spoken_chars
from voxhub.synthesis.holds import release, reserve
from voxhub.synthesis.routing import chosen_engine
from voxhub.synthesis.schemas import SPEAKABLE, SpeechRequest
from voxhub.synthesis.service import SpeechPlan, plan_speech, record, render
from voxhub.synthesis.streaming import paid_stream, primed, stream_bytes
from voxhub.synthesis.timings import WordClock, stored_timings
from voxhub.voices.queries import get_voice


class VoiceSettings(BaseModel):
    """ElevenLabs' voice settings: `speed` is honoured; stability, similarity_boost, style and
    use_speaker_boost are accepted and ignored (the engines have no such knobs)."""

    model_config = ConfigDict(extra="allow")

    speed: float | None = Field(None, ge=0.5, le=2.0)  # voxhub's range (ElevenLabs': 0.7-1.2)


class DictionaryLocator(BaseModel):
    """A voxhub pronunciation dictionary, as ElevenLabs names one. voxhub keeps only a
    dictionary's current rules: a `version_id` that is a voxhub version number holds the
    request to it (409 when the dictionary has moved on); any other is ignored."""

    model_config = ConfigDict(extra="allow")

    pronunciation_dictionary_id: str = Field(max_length=64)
    version_id: str | None = Field(None, max_length=64)


class TextToSpeech(BaseModel):
    """ElevenLabs' text-to-speech body. Fields it documents that voxhub has no use for (seed,
    previous_text, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    text: str = Field(min_length=1, max_length=200_000, json_schema_extra=SPEAKABLE)
    model_id: str | None = Field(None, max_length=100)
    language_code: str | None = Field(None, max_length=20)
    voice_settings: VoiceSettings | None = None
    pronunciation_dictionary_locators: list[DictionaryLocator] = Field(
        default_factory=list, max_length=3
    )


async def speech_request(
    c: Container,
    session: AsyncSession,
    p: Principal,
    voice_id: str,
    body: TextToSpeech,
    output_format: str | None,
) -> SpeechRequest:
    """The voxhub request for an ElevenLabs one; refusals as voxhub's (422, 404)."""
    fmt = parse_output_format(output_format)
    engine = engine_for_model(c, body.model_id)
    if len(voice_id) > 64:  # no voxhub id is this long: missing, not malformed
        raise VoiceNotFound(f"no voice {voice_id[:64]}...", voice_id=voice_id[:64])
    speed = body.voice_settings.speed if body.voice_settings else None
    language = await _spoken_language(c, session, p, voice_id, engine, body.language_code)
    return parse(
        SpeechRequest,
        voice_id=voice_id,
        text=body.text,
        format=fmt.format,
        sample_rate=fmt.sample_rate,
        speed=1.0 if speed is None else float(speed),
        language=language,
        engine=engine,
        pronunciation_dictionary_ids=[
            d.pronunciation_dictionary_id for d in body.pronunciation_dictionary_locators
        ],
        pronunciation_dictionary_versions={
            d.pronunciation_dictionary_id: int(d.version_id)
            for d in body.pronunciation_dictionary_locators
            if d.version_id
            and d.version_id.isascii()
            and d.version_id.isdigit()
            and int(d.version_id) >= 1
        }
        or None,
    )


async def _spoken_language(
    c: Container,
    session: AsyncSession,
    p: Principal,
    voice_id: str,
    engine: str | None,
    language_code: str | None,
) -> str | None:
    """ElevenLabs ignores a language_code its model does not speak: so does this face. The
    model is the engine the request names or, for ElevenLabs' own model ids, the voice's."""
    code = (language_code or "").split("-")[0].lower()
    if not code:
        return None
    speaking = chosen_engine(c.engines, await get_voice(session, voice_id, p), engine)
    return code if code in speaking.info.languages else None


def headers(plan: SpeechPlan, gen_id: str, hit: bool) -> dict[str, str]:
    """ElevenLabs' response headers (its request id, the characters billed) and voxhub's."""
    return {
        "request-id": gen_id,
        "history-item-id": gen_id,
        "x-character-count": str(plan.spoken),
        "X-Voxhub-Engine": f"{plan.engine.info.name}/{plan.engine.info.version}",
        "X-Voxhub-Cache": "hit" if hit else "miss",
        "Cache-Control": "no-store",
    } | generated_headers(gen_id)


def timed_body(data: bytes, text: str, words: list[Timed], seconds: float) -> bytes:
    """Blocking (run it in a thread): the audio in base64 with the sent and the spoken text's
    character times, as JSON bytes (megabytes for a long text: encoded here, off the loop)."""
    aligner = Aligner(text)
    chars = aligner.feed(words)
    chars.extend(aligner.finish(seconds))
    body = {
        "audio_base64": base64.b64encode(data).decode(),
        "alignment": chars.as_json(),
        "normalized_alignment": spoken_chars(words, False).as_json(),
    }
    return json.dumps(body).encode()


async def speak_timed(
    c: Container, session: AsyncSession, req: SpeechRequest, p: Principal
) -> tuple[bytes, dict[str, str]]:
    """Whole audio with timings, as JSON bytes: from the cache when it kept them, else paid and
    rendered as `voxhub.synthesis.service.speak` does; the service keeps the engine's words
    with the generation."""
    plan = await plan_speech(c, req, p)
    if plan.cached is not None:
        kept = await stored_timings(c, plan.cached)
        if kept is not None:
            data = await c.blobs.get(plan.cached.blob_key)
            body = await asyncio.to_thread(timed_body, data, req.text, kept.words, kept.duration)
            return body, headers(plan, plan.cached.id, True)
        plan.cached = None  # stored without its times: made again
    await reserve(c, plan)
    try:
        out = await render(c, plan)
        await record(c, session, plan, out, "sync")
    except BaseException:
        await release(c, plan)
        raise
    body = await asyncio.to_thread(timed_body, out.data, req.text, out.words, out.duration_s)
    return body, headers(plan, plan.generation_id, False)


def _line(data: bytes, chars: Chars, spoken: Chars) -> bytes:
    body = {
        "audio_base64": base64.b64encode(data).decode(),
        "alignment": chars.as_json(),
        "normalized_alignment": spoken.as_json(),
    }
    return json.dumps(body).encode() + b"\n"


async def open_timed(
    c: Container, session: AsyncSession, req: SpeechRequest, p: Principal
) -> tuple[AsyncIterator[bytes], dict[str, str]]:
    """Streamed audio with timings, one JSON object a line, as ElevenLabs streams them: each
    line's audio and the characters settled by then (times from the start of the audio)."""
    plan = await plan_speech(c, req, p, delivery="stream")
    await session.close()
    if plan.cached is not None:
        kept = await stored_timings(c, plan.cached)
        if kept is not None:
            data = await c.blobs.get(plan.cached.blob_key)
            body = await asyncio.to_thread(timed_body, data, req.text, kept.words, kept.duration)
            return stream_bytes(body + b"\n"), headers(plan, plan.cached.id, True)
        plan.cached = None
    await reserve(c, plan)
    chunks = await primed(paid_stream(c, plan))
    return _timed_lines(plan.clock, chunks, req.text), headers(plan, plan.generation_id, False)


async def _timed_lines(
    tapped: WordClock, chunks: AsyncGenerator[bytes, None], text: str
) -> AsyncIterator[bytes]:
    # `tapped` is the plan's clock: the stream notes each chunk's words there before its bytes.
    aligner = Aligner(text)
    fed = 0
    try:
        async for data in chunks:
            words, fed_before, fed = tapped.words[fed:], fed, len(tapped.words)
            chars = await asyncio.to_thread(aligner.feed, words)
            yield _line(data, chars, spoken_chars(words, fed_before > 0))
        words = tapped.words[fed:]
        chars = await asyncio.to_thread(aligner.feed, words)
        chars.extend(await asyncio.to_thread(aligner.finish, tapped.seconds))
        if chars.characters:  # what the last audio settled, with no audio of its own
            yield _line(b"", chars, spoken_chars(words, fed > 0))
    finally:
        await chunks.aclose()
