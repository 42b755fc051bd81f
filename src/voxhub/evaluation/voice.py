"""One voice profile on the fixed test sentences: speed, similarity, WER and DNSMOS."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxhub.audio import clean
from voxhub.audio.recognizer import Recognizer
from voxhub.audio.reference import TARGET_LUFS
from voxhub.audio.speaker import SpeakerEncoder, cosine
from voxhub.audio.types import Audio
from voxhub.engines.base import Engine, SynthesisParams, VoiceProfile
from voxhub.evaluation.quality import Dnsmos
from voxhub.evaluation.wer import WordErrors, pooled_wer, word_errors
from voxhub.text import normalize_text

# Sentences no engine hears at enrolment (none is in the speech samples or the engine's own
# pack-embedding text): a question, numbers, money and time, a list, and a long sentence that
# engines split into clauses. Spellings are American, as Whisper tiny.en writes them.
TEST_SENTENCES: tuple[str, ...] = (
    "Could you tell me where the nearest train station is?",
    "The museum opened in 1998 and welcomed 350 visitors on its first day.",
    "She bought three apples, two loaves of bread and a bottle of fresh milk.",
    "Please send the signed contract to our office before Friday afternoon.",
    "Although the weather had been cold and windy for most of the week, the children still "
    "spent every afternoon playing football in the park behind the old library.",
    "The ticket costs $45, and the journey takes about 2 hours and 15 minutes.",
)
EN = SynthesisParams(language="en")


@dataclass
class Meters:
    """The measuring instruments, loaded once and shared by every evaluation."""

    encoder: SpeakerEncoder
    recognizer: Recognizer
    dnsmos: Dnsmos | None = None

    def load(self) -> None:
        """Load every model now, so no timing pays for it."""
        self.encoder.load()
        self.recognizer.load()
        if self.dnsmos is not None:
            self.dnsmos.load()


def make_meters(
    encoder: SpeakerEncoder | None = None, threads: int = 2, dnsmos: bool = True
) -> Meters:
    """Instruments with `threads` threads each; pass the app's encoder to share its model."""
    return Meters(
        encoder=encoder or SpeakerEncoder(threads=threads),
        recognizer=Recognizer(threads=threads),
        dnsmos=Dnsmos(threads=threads) if dnsmos else None,
    )


@dataclass
class Spoken:
    """One synthesis and its timings."""

    audio: Audio
    engine_s: float  # wall time of the whole synthesis
    first_chunk_s: float
    # CPU seconds of this process: less sensitive than wall time to a busy neighbour.
    cpu_s: float


@dataclass
class SentenceResult:
    """One test sentence: how fast it came and how it scored."""

    text: str
    spoken: Spoken
    transcript: str
    errors: WordErrors
    dnsmos: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "text": self.text,
            "transcript": self.transcript,
            "wer": round(self.errors.wer, 4),
            "audio_s": round(self.spoken.audio.duration, 3),
            "engine_s": round(self.spoken.engine_s, 3),
            "cpu_s": round(self.spoken.cpu_s, 3),
            "first_chunk_s": round(self.spoken.first_chunk_s, 3),
            "dnsmos": _round(self.dnsmos),
        }


@dataclass
class Rendering:
    """Every test sentence spoken with one profile, and the joined output's embedding."""

    sentences: list[SentenceResult]
    embedding: np.ndarray

    @property
    def wer(self) -> float:
        """Pooled over all sentences: errors / reference words."""
        return pooled_wer([s.errors for s in self.sentences])

    def _per_audio_second(self, seconds: float) -> float:
        audio = sum(s.spoken.audio.duration for s in self.sentences)
        return seconds / audio if audio else float("nan")

    @property
    def rtf(self) -> float:
        """Engine (wall) seconds per second of audio, over all sentences."""
        return self._per_audio_second(sum(s.spoken.engine_s for s in self.sentences))

    @property
    def cpu_per_audio_s(self) -> float:
        """CPU seconds per second of audio (all threads): the cost whatever the contention."""
        return self._per_audio_second(sum(s.spoken.cpu_s for s in self.sentences))

    @property
    def first_chunk_s(self) -> float:
        """Median time to the first chunk."""
        return statistics.median(s.spoken.first_chunk_s for s in self.sentences)

    @property
    def dnsmos(self) -> float | None:
        """Mean DNSMOS overall over sentences, when measured."""
        scores = [s.dnsmos for s in self.sentences if s.dnsmos is not None]
        return float(np.mean(scores)) if scores else None

    def as_dict(self, similarity: float | None = None, **more: Any) -> dict[str, Any]:
        """JSON-ready summary and sentences."""
        return {
            **more,
            "similarity": _round(similarity),
            "wer": round(self.wer, 4),
            # Total speech length: a blend that drawls (or rushes) shows up here.
            "audio_s": round(sum(s.spoken.audio.duration for s in self.sentences), 3),
            "rtf": round(self.rtf, 4),
            "cpu_per_audio_s": round(self.cpu_per_audio_s, 4),
            "first_chunk_s": round(self.first_chunk_s, 3),
            "dnsmos": _round(self.dnsmos),
            "sentences": [s.as_dict() for s in self.sentences],
        }


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


async def speak(
    engine: Engine, text: str, profile: VoiceProfile, params: SynthesisParams = EN
) -> Spoken:
    """Synthesise `text`, timing the whole call and the first chunk."""
    pieces: list[np.ndarray] = []
    rate = engine.info.sample_rate
    first = float("nan")
    t0, c0 = time.perf_counter(), time.process_time()
    # Text goes in as the API passes it: cleaned, not expanded (the engine expands).
    async for chunk in engine.synthesize(normalize_text(text), profile, params):
        if not pieces:
            first = time.perf_counter() - t0
        pieces.append(np.asarray(chunk.samples, dtype=np.float32))
        rate = chunk.sample_rate
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Spoken(Audio(samples, rate), elapsed, first, cpu)


def embed_levelled(encoder: SpeakerEncoder, audio: Audio) -> np.ndarray:
    """Speaker embedding after the same loudness levelling references get before enrolment."""
    levelled, _ = clean.loudness_normalise(audio.samples, audio.sample_rate, TARGET_LUFS)
    return encoder.embed(levelled, audio.sample_rate)


async def _score(text: str, spoken: Spoken, meters: Meters) -> SentenceResult:
    audio = spoken.audio
    transcript = await asyncio.to_thread(
        meters.recognizer.transcribe, audio.samples, audio.sample_rate
    )
    mos = None
    if meters.dnsmos is not None and len(audio.samples):
        score = await asyncio.to_thread(meters.dnsmos.score, audio.samples, audio.sample_rate)
        mos = score.ovrl
    return SentenceResult(text, spoken, transcript, word_errors(text, transcript), mos)


async def render(
    engine: Engine,
    profile: VoiceProfile,
    meters: Meters,
    sentences: tuple[str, ...] | list[str] = TEST_SENTENCES,
) -> Rendering:
    """Speak each sentence (timed), then transcribe, rate and embed the outputs (untimed)."""
    spoken = [await speak(engine, text, profile) for text in sentences]
    results = [await _score(text, sp, meters) for text, sp in zip(sentences, spoken, strict=True)]
    # One embedding of all sentences joined rather than a mean over sentences: the joined
    # output (~20 s) is as long as the real recordings it is compared with, whereas 2-4 s
    # sentences give the encoder few windows each and noisier, systematically lower cosines.
    rate = spoken[0].audio.sample_rate if spoken else engine.info.sample_rate
    joined = np.concatenate([sp.audio.samples for sp in spoken]) if spoken else np.zeros(0)
    embedding = await asyncio.to_thread(embed_levelled, meters.encoder, Audio(joined, rate))
    return Rendering(results, embedding)


@dataclass
class VoiceEvaluation:
    """How a voice profile does on the test sentences, judged against its own reference."""

    similarity: float  # cosine (resemblyzer) of the joined output and the reference
    wer: float
    rtf: float
    first_chunk_s: float
    dnsmos: float | None
    rendering: Rendering


async def evaluate_voice(
    engine: Engine,
    profile: VoiceProfile,
    reference: Audio,
    meters: Meters,
    sentences: tuple[str, ...] | list[str] = TEST_SENTENCES,
) -> VoiceEvaluation:
    """Speak the test sentences with `profile`; similarity to `reference` and WER (for the CLI).

    With a single user voice there is no same/stranger baseline, so the similarity is the raw
    cosine. For orientation, on the shared samples a speaker's two real recordings score
    0.90-0.96, same-gender strangers 0.55-0.60 on average, and instant clones 0.55-0.80 against
    a recording they were not enrolled from (against the enrolment reference, expect more).
    """
    rendering = await render(engine, profile, meters, sentences)
    ref = await asyncio.to_thread(embed_levelled, meters.encoder, reference)
    return VoiceEvaluation(
        similarity=cosine(rendering.embedding, ref),
        wer=rendering.wer,
        rtf=rendering.rtf,
        first_chunk_s=rendering.first_chunk_s,
        dnsmos=rendering.dnsmos,
        rendering=rendering,
    )
