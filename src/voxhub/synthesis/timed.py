"""A generation's word times as clients read them: JSON, captions, and speech with timings."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.container import Container
from voxhub.core.errors import TimingsNotFound
from voxhub.synthesis import service
from voxhub.synthesis.alignment import Aligner
from voxhub.synthesis.models import Generation
from voxhub.synthesis.schemas import SpeechRequest
from voxhub.synthesis.timings import StoredTimings, Timed, stored_timings, timings_of
from voxhub.video.cues import cues_from_words, to_srt, to_vtt


def _words(words: list[Timed]) -> list[dict[str, object]]:
    return [{"word": w, "start": round(s, 3), "end": round(e, 3)} for w, s, e in words]


def timings_body(gen: Generation, kept: StoredTimings) -> bytes:
    """Blocking (linear in the text): the words, and the characters of the generation's text
    timed from them (spoken text, as recorded: "12" is there as "twelve")."""
    aligner = Aligner(gen.text)
    chars = aligner.feed(kept.words)
    chars.extend(aligner.finish(kept.duration))
    body = {
        "generation_id": gen.id,
        "duration_s": kept.duration,
        "words": _words(kept.words),
        "characters": chars.as_json(),
    }
    return json.dumps(body).encode()


async def _timed_words(c: Container, gen: Generation) -> StoredTimings:
    kept = await timings_of(c, gen)
    if not kept.words and kept.duration > 0:  # an engine that does not time its words
        raise TimingsNotFound(
            f"engine {gen.engine} gave no word times for generation {gen.id}",
            generation_id=gen.id,
        )
    return kept


async def timings_json(c: Container, gen: Generation) -> bytes:
    """GET .../timings; 404 `timings_not_found` for a generation recorded without them."""
    kept = await _timed_words(c, gen)
    return await asyncio.to_thread(timings_body, gen, kept)


async def captions(c: Container, gen: Generation, fmt: str) -> str:
    """SubRip or WebVTT captions of a generation, from its words."""
    kept = await _timed_words(c, gen)

    def build() -> str:
        cues = cues_from_words(kept.words)
        return to_srt(cues) if fmt == "srt" else to_vtt(cues)

    return await asyncio.to_thread(build)


def _speech_body(gen: Generation, data: bytes, words: list[Timed]) -> bytes:
    body = {
        "audio_base64": base64.b64encode(data).decode(),
        "format": gen.format,
        "sample_rate": gen.sample_rate,
        "duration_s": gen.duration_s,
        "generation_id": gen.id,
        "words": _words(words),
    }
    return json.dumps(body).encode()


@dataclass(frozen=True)
class SaidWithTimings:
    """Whole speech with its word times (as they are stored), and whether the cache had it."""

    gen: Generation
    data: bytes
    kept: StoredTimings
    cached: bool


async def speak_with_timings(
    c: Container, session: AsyncSession, req: SpeechRequest, p: Principal
) -> SaidWithTimings:
    """`timings: true`: from the cache when its hit kept its words (a hit recorded before they
    were kept is rendered afresh, with them)."""
    plan = await service.plan_speech(c, req, p)
    if plan.cached is not None:
        kept = await stored_timings(c, plan.cached)
        if kept is not None:
            data = await c.blobs.get(plan.cached.blob_key)
            return SaidWithTimings(plan.cached, data, kept, True)
        plan.cached = None
    gen, out = await service.speak_planned(c, session, plan, p, "sync")
    # Read back as stored (rounded to the millisecond), so this answer and a later
    # GET .../timings of the same generation say the same thing.
    kept = await stored_timings(c, gen)
    if kept is None:  # `record` stores them or fails; this is only the type's other case
        kept = StoredTimings(out.words, out.duration_s)
    return SaidWithTimings(gen, out.data, kept, False)


async def speak_timed(
    c: Container, session: AsyncSession, req: SpeechRequest, p: Principal
) -> tuple[Generation, bytes, bool]:
    """`timings: true` as JSON (the default): the audio in base64 and its words."""
    said = await speak_with_timings(c, session, req, p)
    body = await asyncio.to_thread(_speech_body, said.gen, said.data, said.kept.words)
    return said.gen, body, said.cached
