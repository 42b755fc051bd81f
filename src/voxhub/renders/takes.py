"""The line cache: a line is spoken once per (voice profile, engine version, text, parameters).

A take is stored as 16-bit WAV at the engine's rate (also the per-line file seed 001 calls
`audioFile`), already trimmed and brought to the line level, with its word timings. A render
asks for each line's take: a hit is read back, a miss is spoken, tried again once if the engine
fails, and stored before the render goes on, so a render that fails later keeps what it made.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import wave
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from voxhub.audio.encode import encode
from voxhub.container import Container
from voxhub.core.errors import VoxhubError
from voxhub.core.ids import new_id
from voxhub.engines.base import Engine, SynthesisParams, VoiceProfile
from voxhub.renders import loudness
from voxhub.renders.models import LineTake
from voxhub.renders.timeline import Take, Word, trim_silence
from voxhub.text.lane import off_loop
from voxhub.text.normalize import normalize_text

log = logging.getLogger(__name__)

# Bumped when what a take holds changes (trimming, levels), so old takes stop matching.
TAKE_RECIPE = 1


@dataclass(frozen=True)
class Voiced:
    """One of the cast, ready to speak: their engine, profile and seed 001 config."""

    character_id: str
    name: str
    engine: Engine
    profile: VoiceProfile
    params: SynthesisParams
    crossfade_s: float
    remove_silences: bool


class LineFailed(Exception):
    """The engine failed on a line on every try."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def take_key(v: Voiced, text: str, line_lufs: float) -> str:
    material = {
        "recipe": TAKE_RECIPE,
        "profile": hashlib.sha256(v.profile.data).hexdigest(),
        "engine": v.engine.info.name,
        "version": v.engine.info.version,
        "text": text,
        "speed": v.params.speed,
        "language": v.params.language,
        "seed": v.params.seed,
        "trim": v.remove_silences,
        "lufs": line_lufs,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


async def take_for(
    c: Container, script_id: str, v: Voiced, text: str, attempts: int
) -> tuple[LineTake, Take]:
    """The line's take: from the cache, or spoken now and stored. Raises LineFailed."""
    line_lufs = c.settings.renders.render_line_lufs
    key = take_key(v, text, line_lufs)
    async with c.sessions() as session:
        row = await session.scalar(
            select(LineTake).where(LineTake.script_id == script_id, LineTake.cache_key == key)
        )
    if row is not None:
        try:
            return row, _read(await c.blobs.get(row.blob_key), row.words)
        except Exception:
            log.warning("take %s could not be read back; speaking the line again", row.id)
    take = await _speak(v, text, attempts, line_lufs)
    return await _store(c, script_id, v, key, take), take


async def _speak(v: Voiced, text: str, attempts: int, line_lufs: float) -> Take:
    clean = await off_loop(normalize_text, text)
    rate = v.engine.info.sample_rate
    for attempt in range(1, attempts + 1):
        try:
            pieces, words, offset = [], [], 0.0
            async for chunk in v.engine.synthesize(clean, v.profile, v.params):
                pieces.append(chunk.samples)
                words += [Word(w.word, offset + w.start, offset + w.end) for w in chunk.words]
                offset += chunk.duration
            samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
            break
        except (VoxhubError, RuntimeError, OSError, ValueError) as exc:
            log.warning("line failed on try %d of %d: %s", attempt, attempts, exc)
            if attempt == attempts:
                raise LineFailed(exc) from exc
    take = Take(samples.astype(np.float32), words)
    return await asyncio.to_thread(_finish, take, rate, v.remove_silences, line_lufs)


def _finish(take: Take, rate: int, trim: bool, line_lufs: float) -> Take:
    if trim:
        take = trim_silence(take, rate)
    # Each line to one level; the ceiling keeps headroom for the mix's own normalisation.
    return Take(loudness.normalise(take.samples, rate, line_lufs, -3.0), take.words)


async def _store(c: Container, script_id: str, v: Voiced, key: str, take: Take) -> LineTake:
    rate = v.engine.info.sample_rate
    take_id = new_id()
    blob_key = f"scripts/{script_id}/takes/{take_id}.wav"
    data = await asyncio.to_thread(encode, take.samples, rate, "wav", rate)
    await c.blobs.put(blob_key, data, "audio/wav")
    row = LineTake(
        id=take_id,
        script_id=script_id,
        cache_key=key,
        blob_key=blob_key,
        sample_rate=rate,
        duration_s=round(len(take.samples) / rate, 3),
        words=[[w.word, round(w.start, 3), round(w.end, 3)] for w in take.words],
        engine=v.engine.info.name,
        engine_version=v.engine.info.version,
    )
    async with c.sessions() as session:
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:
            # Another render of this script spoke the same line at the same time: use its take.
            await session.rollback()
            await c.blobs.delete(blob_key)
            other = await session.scalar(
                select(LineTake).where(LineTake.script_id == script_id, LineTake.cache_key == key)
            )
            if other is None:
                raise
            return other
        except BaseException:
            await c.blobs.delete(blob_key)
            raise
    return row


def take_samples(data: bytes) -> np.ndarray:
    """A stored take's samples (float32 mono, at its row's rate)."""
    with wave.open(io.BytesIO(data)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    return (pcm.astype(np.float32) / 32768.0).copy()


def _read(data: bytes, words: list[list[object]]) -> Take:
    samples = take_samples(data)
    return Take(samples, [Word(str(a), float(b), float(e)) for a, b, e in words])  # type: ignore[arg-type]
