"""The benchmark: clone each sample speaker, speak the test sentences, score every profile."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.audio.decode import decode
from voxhub.audio.recognizer import WHISPER_RATE
from voxhub.audio.reference import prepare_reference
from voxhub.audio.speaker import SpeakerEncoder, cosine
from voxhub.audio.types import Audio
from voxhub.engines.base import Engine, Reference, RefiningEngine, VoiceProfile
from voxhub.evaluation.speakers import Baseline, Recording, Speaker, baselines
from voxhub.evaluation.voice import TEST_SENTENCES, Meters, Rendering, embed_levelled, render, speak
from voxhub.evaluation.wer import word_errors
from voxhub.settings import LimitSettings

# What each stock pack says to be matched to a speaker: one short sentence, not a test one.
PROBE_SENTENCE = "A gentle breeze carried the scent of rain across the open field."


@dataclass
class Prepared:
    """A real recording after the reference pipeline, its embedding and what that took."""

    audio: Audio
    embedding: np.ndarray
    seed: int
    prepare_s: float
    embed_s: float


@dataclass
class RunConfig:
    """What to evaluate: `pool` supplies strangers, its first `n_speakers` are evaluated."""

    speech_dir: Path
    pool: list[Speaker]
    n_speakers: int
    limits: LimitSettings
    working_rate: int = 24_000
    sentences: tuple[str, ...] = TEST_SENTENCES
    refine: bool = True
    stock: bool = True


def _prepare(path: Path, cfg: RunConfig, encoder: SpeakerEncoder) -> Prepared:
    return prepare_upload(path.read_bytes(), cfg.limits, cfg.working_rate, encoder)


def prepare_upload(
    data: bytes, limits: LimitSettings, working_rate: int, encoder: SpeakerEncoder
) -> Prepared:
    """A file as the voice service takes an upload: prepared, embedded, seeded. Blocking;
    raises NotEnoughSpeech where the service would refuse the upload."""
    t0 = time.perf_counter()
    audio = prepare_reference(data, limits, working_rate).audio
    t1 = time.perf_counter()
    embedding = encoder.embed(audio.samples, audio.sample_rate)
    t2 = time.perf_counter()
    # The seed the voice service would derive from this upload.
    seed = int.from_bytes(hashlib.sha256(hashlib.sha256(data).hexdigest().encode()).digest()[:4])
    return Prepared(audio, embedding, seed, t1 - t0, t2 - t1)


def _score_real(rec: Recording, cfg: RunConfig, meters: Meters) -> dict[str, Any]:
    """The recogniser's WER and DNSMOS on an original recording: the reference point."""
    audio = decode((cfg.speech_dir / rec.file).read_bytes(), cfg.limits, WHISPER_RATE)
    row: dict[str, Any] = {"file": rec.file, "speaker": rec.speaker_id}
    if rec.transcript:
        heard = meters.recognizer.transcribe(audio.samples, audio.sample_rate)
        errors = word_errors(rec.transcript, heard)
        row |= {"heard": heard, "wer": round(errors.wer, 4), "words": errors.reference_words}
    if meters.dnsmos is not None:
        row["dnsmos"] = round(meters.dnsmos.score(audio.samples, audio.sample_rate).ovrl, 4)
    return row


def _scored(r: Rendering, held_out: np.ndarray, base: Baseline, **more: Any) -> dict[str, Any]:
    sim = cosine(r.embedding, held_out)
    return r.as_dict(similarity=sim, normalised=round(base.normalise(sim), 4), **more)


class _Stock:
    """The baseline: the single stock pack of the speaker's gender nearest to the enrolment.

    "Nearest" compares speaker embeddings of each pack and of the enrolment recording, the
    information instant cloning has too; the engine's own pack embeddings are used when it
    exposes them, else each pack says `PROBE_SENTENCE` once.
    """

    def __init__(self, engine: Any, meters: Meters) -> None:
        self._engine, self._meters = engine, meters
        self._embeddings: dict[str, np.ndarray] = dict(getattr(engine, "pack_embeddings", {}))
        self._renders: dict[str, Rendering] = {}

    @staticmethod
    def available(engine: Engine) -> bool:
        """Whether the engine lists its packs and can speak with one unchanged."""
        return hasattr(engine, "packs") and hasattr(engine, "stock_profile")

    async def nearest(self, gender: str, embedding: np.ndarray) -> str | None:
        """The name of the best-matching English pack of `gender` ("F"/"M"), if any."""
        names = [p.name for p in self._engine.packs if p.gender == gender.lower() and p.is_english]
        for name in names:
            if name not in self._embeddings:
                spoken = await speak(self._engine, PROBE_SENTENCE, self._profile(name))
                self._embeddings[name] = await asyncio.to_thread(
                    embed_levelled, self._meters.encoder, spoken.audio
                )
        return max(names, key=lambda n: cosine(self._embeddings[n], embedding), default=None)

    def _profile(self, name: str) -> VoiceProfile:
        profile: VoiceProfile = self._engine.stock_profile(name)
        return profile

    async def render(self, name: str, sentences: tuple[str, ...]) -> Rendering:
        """The pack's rendering; a stock pack's output does not depend on the speaker."""
        if name not in self._renders:
            self._renders[name] = await render(
                self._engine, self._profile(name), self._meters, sentences
            )
        return self._renders[name]


async def _evaluate_speaker(
    engine: Engine,
    meters: Meters,
    spk: Speaker,
    prepared: dict[str, Prepared],
    base: Baseline,
    cfg: RunConfig,
    stock: _Stock | None,
) -> dict[str, Any]:
    ref, held = prepared[spk.enrolment.file], prepared[spk.held_out.file].embedding
    reference = Reference(ref.audio.samples, ref.audio.sample_rate, ref.embedding, ref.seed)
    t0 = time.perf_counter()
    instant = await engine.enroll(reference)
    enroll_s = time.perf_counter() - t0
    profiles: dict[str, dict[str, Any]] = {}
    timing = {"prepare_s": ref.prepare_s, "embed_s": ref.embed_s, "enroll_s": enroll_s}
    rendering = await render(engine, instant, meters, cfg.sentences)
    profiles["instant"] = _scored(
        rendering,
        held,
        base,
        time_s=round(sum(timing.values()), 3),
        timing={k: round(v, 3) for k, v in timing.items()},
        metrics=instant.metrics,
    )
    if cfg.refine and isinstance(engine, RefiningEngine):
        t0 = time.perf_counter()
        refined = await engine.refine(reference, instant, lambda _f, _m: None)
        refine_s = time.perf_counter() - t0
        rendering = await render(engine, refined, meters, cfg.sentences)
        profiles["refined"] = _scored(
            rendering, held, base, time_s=round(refine_s, 3), metrics=refined.metrics
        )
    if stock is not None and (name := await stock.nearest(spk.gender, ref.embedding)):
        rendering = await stock.render(name, cfg.sentences)
        profiles["stock"] = _scored(rendering, held, base, pack=name)
    return {
        "speaker": spk.id,
        "gender": spk.gender,
        "enrolment": spk.enrolment.file,
        "held_out": spk.held_out.file,
        "reference_s": round(ref.audio.duration, 3),
        "same": round(base.same, 4),
        "stranger": round(base.stranger, 4),
        "profiles": profiles,
    }


async def run_evaluation(
    engine: Engine, meters: Meters, cfg: RunConfig, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Evaluate the engine's clones of the first `n_speakers` speakers; a JSON-ready result."""
    recordings = [rec for spk in cfg.pool for rec in spk.recordings]
    # Warm the VAD and encoder on one file so the first timed enrolment does not pay for them.
    await asyncio.to_thread(_prepare, cfg.speech_dir / recordings[0].file, cfg, meters.encoder)
    prepared: dict[str, Prepared] = {}
    for rec in recordings:
        path = cfg.speech_dir / rec.file
        prepared[rec.file] = await asyncio.to_thread(_prepare, path, cfg, meters.encoder)
    base = baselines(cfg.pool, {f: p.embedding for f, p in prepared.items()})
    evaluated = cfg.pool[: cfg.n_speakers]
    log(f"scoring {2 * len(evaluated)} real recordings")
    real = [
        await asyncio.to_thread(_score_real, rec, cfg, meters)
        for spk in evaluated
        for rec in spk.recordings
    ]
    stock = _Stock(engine, meters) if cfg.stock and _Stock.available(engine) else None
    # One untimed sentence first: onnxruntime and friends are slow on their first call.
    first = prepared[evaluated[0].enrolment.file]
    warm = await engine.enroll(Reference(first.audio.samples, first.audio.sample_rate))
    await speak(engine, "Warming up.", warm)
    rows = []
    for i, spk in enumerate(evaluated, 1):
        log(f"[{i}/{len(evaluated)}] {spk.id} ({spk.gender})")
        rows.append(
            await _evaluate_speaker(engine, meters, spk, prepared, base[spk.id], cfg, stock)
        )
    return {"real": real, "speakers": rows}
