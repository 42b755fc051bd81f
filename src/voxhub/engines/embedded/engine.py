"""The default offline engine: Kokoro-82M (int8 ONNX) with espeak-ng phonemes, on the CPU."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from voxhub.audio.speaker import SpeakerEncoder
from voxhub.core.errors import EngineFailure, EngineUnavailable, InvalidInput
from voxhub.engines.base import (
    AudioChunk,
    EngineInfo,
    ProfileStatus,
    ProgressCallback,
    Reference,
    SynthesisParams,
    VoiceProfile,
)
from voxhub.engines.embedded.adapt import Equaliser, equaliser_gains
from voxhub.engines.embedded.embeddings import pack_voices
from voxhub.engines.embedded.listening import Listener, Target, reference_spectrum
from voxhub.engines.embedded.model import SAMPLE_RATE, KokoroModel, style_row
from voxhub.engines.embedded.pack_download import PackDownload
from voxhub.engines.embedded.packs import HF_VOICES_URL, VoicePack, load_packs
from voxhub.engines.embedded.phonemes import ESPEAK_VOICES, phonemize, tokenize
from voxhub.engines.embedded.pieces import Piece, plan, trim_silence, with_pause, word_timings
from voxhub.engines.embedded.profile import (
    EQ_BINS,
    PROFILE_ALGORITHM,
    StyleProfile,
    blend_styles,
    choose_packs,
    decode_profile,
    encode_profile,
    norm_range,
)
from voxhub.engines.embedded.refine import CANDIDATES, search_timbre
from voxhub.settings import Settings
from voxhub.text.lane import off_loop

log = logging.getLogger(__name__)

NAME = "embedded"
# Bump the suffix when the audio for the same text and profile changes (the cache keys on it).
VERSION = f"kokoro-82m-v1.0-int8/{PROFILE_ALGORITHM}/plan-3"
LANGUAGES = ("en", "en-us", "en-gb", "es", "fr", "it", "pt-br", "hi")
_SPEED_RANGE = (0.5, 2.0)


@dataclass(frozen=True)
class _Delivery:
    """How one request is spoken: the voice's style and adaptation, speed and language."""

    style: np.ndarray
    f0_scale: float
    equaliser: Equaliser | None
    speed: float
    language: str
    lexicon: dict[str, str]


def _finish(audio: np.ndarray, voice: _Delivery, piece: Piece) -> AudioChunk:
    """Blocking: trim, equalise, time the words and add the pause after the piece."""
    speech = trim_silence(audio, SAMPLE_RATE)
    if voice.equaliser is not None:
        speech = voice.equaliser.apply(speech)
    words = word_timings(piece.text, len(speech) / SAMPLE_RATE, voice.language)
    samples = np.clip(with_pause(speech, piece.pause, SAMPLE_RATE), -1.0, 1.0)
    return AudioChunk(samples, SAMPLE_RATE, text=piece.text, words=words)


def _concurrency(threads: int) -> int:
    """Model calls that may run at once: cores / threads, but two wherever there are two cores
    (two 2-thread calls on two cores still finish sooner together, see `KokoroModel`)."""
    cores = os.cpu_count() or 1
    return max(2 if cores >= 2 else 1, min(4, cores // max(1, threads)))


class EmbeddedEngine:
    """Kokoro-82M behind the Engine port; cloning blends the stock packs nearest the speaker."""

    def __init__(
        self, settings: Settings, speaker_encoder: SpeakerEncoder, voices_url: str = HF_VOICES_URL
    ) -> None:
        self._settings = settings
        self._encoder = speaker_encoder
        self.pack_download = PackDownload(settings, self._take_packs, voices_url)
        threads = settings.engine.engine_threads
        concurrency = settings.engine.engine_concurrency or _concurrency(threads)
        self.info = EngineInfo(
            name=NAME,
            version=VERSION,
            sample_rate=SAMPLE_RATE,
            languages=LANGUAGES,
            supports_cloning=True,
            supports_streaming=True,
            max_concurrency=concurrency,
            description="Kokoro-82M int8 ONNX on the CPU; instant voices blend stock packs.",
            supports_phonemes=True,
        )
        self._model = KokoroModel(settings.cache_dir / "kokoro", threads, concurrency)
        self._semaphore = asyncio.Semaphore(self.info.max_concurrency)
        self._packs: list[VoicePack] = []
        self._clone_packs: list[VoicePack] = []
        self._clone_styles = np.zeros((0, 510, 256), dtype=np.float32)
        self._norm_limits = (np.zeros((510, 2)), np.zeros((510, 2)))
        self._pack_embeddings = np.zeros((0, 256), dtype=np.float32)
        self._pack_spectra = np.zeros((0, EQ_BINS))
        self.pack_source = ""
        self.load_stats: dict[str, float] = {}

    # ---- lifecycle -------------------------------------------------------------------------

    async def load(self) -> None:
        """Load the model, packs, phonemiser and encoder, and the stock packs' embeddings."""
        await asyncio.to_thread(self._load)

    def _timed_model_load(self) -> float:
        started = time.perf_counter()
        self._model.load()
        return time.perf_counter() - started

    def _warm_encoder(self) -> None:
        """The encoder's first embedding imports its feature code (librosa, numba caches:
        2-3 s on two cores); done here, beside the model's load, not in the first upload."""
        self._encoder.load()
        noise = np.random.default_rng(0).standard_normal(SAMPLE_RATE).astype(np.float32)
        self._encoder.embed(0.1 * noise, SAMPLE_RATE)

    def _load(self) -> None:
        t0 = time.perf_counter()
        # The model's session is built in onnxruntime's C++ (the GIL released) while this
        # thread does the Python-bound rest: together about 1 s sooner on two cores.
        with ThreadPoolExecutor(1, thread_name_prefix="kokoro-load") as pool:
            model = pool.submit(self._timed_model_load)
            self._packs, self.pack_source = load_packs(self._settings, download=False)
            phonemize("ready", "en-us")  # loads libespeak-ng and its English dictionary now
            self._warm_encoder()
            t1 = time.perf_counter()
            model_s = model.result()  # the packs' voices may need the model (below)
        t2 = time.perf_counter()
        english = [p for p in self._packs if p.is_english]
        # Cloning searches English packs; with only the wheel's Japanese ones, use those.
        self._clone_packs = english or list(self._packs)
        self._clone_styles = np.stack([p.style for p in self._clone_packs])
        self._norm_limits = norm_range(self._clone_styles)
        # Shipped for the stock packs; any other pack is synthesised once and kept in the home.
        voices, synthesised = pack_voices(
            self._settings.cache_dir / "kokoro_pack_voices.npz",
            self._clone_packs,
            self._synthesise_text,
            lambda audio: self._encoder.embed(audio, SAMPLE_RATE),
        )
        self._pack_embeddings, self._pack_spectra = voices
        t3 = time.perf_counter()
        self.load_stats = {
            "model_s": model_s,
            "packs_and_encoder_s": t1 - t0,
            "model_wait_s": t2 - t1,
            "embeddings_s": t3 - t2,
            "embeddings_cached": float(synthesised == 0),
            "packs_synthesised": float(synthesised),
        }
        log.info(
            "embedded engine ready: %d packs from %s, %s",
            len(self._packs),
            self.pack_source,
            {k: round(v, 2) for k, v in self.load_stats.items()},
        )
        self.pack_download.start_if_wanted(self.pack_source)  # cloning never waits for it

    def _take_packs(self, packs: list[VoicePack], source: str) -> None:
        if self._model.loaded:  # on the download's thread; a closed engine takes none
            self._packs, self.pack_source = packs, source

    async def aclose(self) -> None:
        """Drop the model session and packs."""
        self._model.close()
        self._packs, self._clone_packs = [], []
        self._pack_embeddings = np.zeros((0, 256), dtype=np.float32)

    # ---- voices ------------------------------------------------------------------------------

    @property
    def packs(self) -> list[VoicePack]:
        """The stock voice packs loaded."""
        return list(self._packs)

    @property
    def pack_embeddings(self) -> dict[str, np.ndarray]:
        """Speaker embeddings of the packs cloning chooses from (of `EMBED_TEXT` in each)."""
        return {p.name: e for p, e in zip(self._clone_packs, self._pack_embeddings, strict=True)}

    def stock_profile(self, name: str) -> VoiceProfile:
        """A profile that speaks with one stock pack unchanged."""
        for pack in self._packs:
            if pack.name == name:
                data = encode_profile(StyleProfile(pack.style, (name,), (1.0,)))
                return VoiceProfile(NAME, VERSION, data, ProfileStatus.ready)
        raise InvalidInput(f"no stock voice {name!r}")

    async def enroll(self, reference: Reference) -> VoiceProfile:
        """The instant profile: a blend of the stock packs whose voices sound nearest."""
        self._require_loaded()
        embedding = reference.embedding
        if embedding is None:
            embedding = await asyncio.to_thread(
                self._encoder.embed, reference.samples, reference.sample_rate
            )
        order, weights, sims = choose_packs(np.asarray(embedding), self._pack_embeddings)
        style = blend_styles(self._clone_styles[order], weights, self._norm_limits)
        names = tuple(self._clone_packs[i].name for i in order)
        # The blend's spectrum is close to the blend of its packs' spectra (measured on the
        # shared speakers: the equaliser fitted this way scores as well as one fitted to the
        # blend's own speech), so the instant profile gets its equaliser without synthesis.
        spectrum = await asyncio.to_thread(reference_spectrum, reference)
        gains = equaliser_gains(spectrum, weights @ self._pack_spectra[order], SAMPLE_RATE)
        data = encode_profile(
            StyleProfile(
                style, names, tuple(float(w) for w in weights), reference.seed, eq_db=gains
            )
        )
        # The expected similarity of the blend: the weighted similarity of its parts. An
        # estimate, since measuring it would mean synthesising during the upload.
        estimate = float(np.dot(weights, sims[order]))
        return VoiceProfile(
            NAME,
            VERSION,
            data,
            ProfileStatus.instant,
            {
                "similarity_estimate": round(estimate, 4),
                "nearest_pack_similarity": round(float(sims[order[0]]), 4),
            },
        )

    async def refine(
        self, reference: Reference, profile: VoiceProfile, progress: ProgressCallback
    ) -> VoiceProfile:
        """Listen to candidate timbres and keep the one that sounds most like the reference."""
        self._require_loaded()
        embedding = reference.embedding
        if embedding is None:
            embedding = await asyncio.to_thread(
                self._encoder.embed, reference.samples, reference.sample_rate
            )
        start = decode_profile(profile.data)
        order, weights, _ = choose_packs(np.asarray(embedding), self._pack_embeddings, k=CANDIDATES)
        target = await asyncio.to_thread(Target.of, reference, np.asarray(embedding))
        listener = Listener(self._synthesise_text, self._encoder, target)
        # The instant profile as it is served (its own equaliser): what refinement must beat.
        served = start.eq_db if start.eq_db is not None else np.zeros(EQ_BINS, np.float32)
        instant_score, _ = await asyncio.to_thread(
            listener.score, start.style, start.f0_scale, served
        )
        budget = self._settings.engine.refine_budget
        result = await asyncio.to_thread(
            search_timbre,
            start.style,
            self._clone_styles[order],
            weights,
            self._norm_limits,
            listener.score,
            budget,
            reference.seed,
            lambda done, message: progress(0.9 * done, message),
        )
        progress(0.9, "fitting pitch and equaliser")
        f0_scale, gains, score = await asyncio.to_thread(
            listener.fit_adaptation, result.style, result.best_score
        )
        checked = await asyncio.to_thread(listener.validate, result.style, f0_scale, gains)
        instant_checked = await asyncio.to_thread(
            listener.validate, start.style, start.f0_scale, served
        )
        better = score > instant_score and checked > instant_checked
        progress(1.0, f"refined: {checked:.3f} (instant {instant_checked:.3f})")
        metrics = {
            "similarity_estimate": round(score if better else instant_score, 4),
            "instant_similarity": round(instant_score, 4),
            "validation_similarity": round(checked, 4),
            "instant_validation_similarity": round(instant_checked, 4),
            "evaluations": float(result.evaluations),
        }
        if not better:  # never hand back a voice that sounds less like the speaker
            return VoiceProfile(NAME, VERSION, profile.data, ProfileStatus.ready, metrics)
        names = tuple(self._clone_packs[i].name for i in order)
        data = encode_profile(
            StyleProfile(
                result.style,
                names,
                tuple(float(w) for w in result.weights),
                reference.seed,
                algorithm=f"{PROFILE_ALGORITHM}+refine-3",
                f0_scale=f0_scale,
                eq_db=gains,
            )
        )
        return VoiceProfile(
            NAME,
            VERSION,
            data,
            ProfileStatus.ready,
            metrics
            | {"f0_scale": round(f0_scale, 4), "eq_range_db": round(float(np.ptp(gains)), 2)},
        )

    # ---- speech ------------------------------------------------------------------------------

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        """Speak `text` sentence by sentence (clauses for long ones), one chunk per piece."""
        self._require_loaded()
        language = params.language.lower()
        if language not in ESPEAK_VOICES:
            raise InvalidInput(f"the embedded engine does not speak {params.language!r}")
        try:
            profile = decode_profile(voice.data)
        except ValueError as exc:
            raise EngineFailure("the voice profile cannot be read by this engine") from exc
        delivery = _Delivery(
            style=profile.style,
            f0_scale=profile.f0_scale,
            equaliser=None if profile.eq_db is None else Equaliser.from_gains(profile.eq_db),
            speed=float(min(max(params.speed, _SPEED_RANGE[0]), _SPEED_RANGE[1])),
            language=language,
            lexicon=dict(params.lexicon),
        )
        # Work ahead: the next piece computes while this one is encoded and sent, instead of
        # waiting for the consumer to ask for it. One producer keeps the pieces in order.
        ready: asyncio.Queue[AudioChunk | Exception | None] = asyncio.Queue(maxsize=1)

        async def hand_over(task: asyncio.Task[AudioChunk | None]) -> None:
            chunk = await task
            if chunk is not None:
                await ready.put(chunk)

        async def produce() -> None:
            in_flight: deque[asyncio.Task[AudioChunk | None]] = deque()
            try:
                # Planning is CPU work on text of any length: never on the event loop.
                pieces = await off_loop(plan, text, language)
                for n, piece in enumerate(pieces):
                    in_flight.append(asyncio.create_task(self._render(delivery, piece)))
                    # The first piece computes alone: its latency is the stream's first byte.
                    # After it, as many pieces compute at once as the model allows.
                    if n == 0 or len(in_flight) >= self._model.concurrency:
                        await hand_over(in_flight.popleft())
                while in_flight:
                    await hand_over(in_flight.popleft())
            except Exception as exc:  # handed to the consumer, which raises it
                await ready.put(exc)
                return
            finally:
                for task in in_flight:
                    task.cancel()
            await ready.put(None)

        producer = asyncio.create_task(produce())
        try:
            while (item := await ready.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:  # a consumer that stops early leaves nothing running on its behalf
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)

    async def _render(self, voice: _Delivery, piece: Piece) -> AudioChunk | None:
        """One planned piece as a chunk; None when it has nothing speakable."""
        phonemes = await asyncio.to_thread(phonemize, piece.text, voice.language, voice.lexicon)
        tokens = tokenize(phonemes)
        if not tokens:
            return None  # only emoji, symbols, ... : nothing to say
        row = style_row(voice.style, len(tokens))
        async with self._semaphore:
            audio = await asyncio.to_thread(
                self._model.infer, tokens, row, voice.speed, voice.f0_scale
            )
        return await asyncio.to_thread(_finish, audio, voice, piece)

    def _synthesise_text(self, style: np.ndarray, text: str, f0_scale: float = 1.0) -> np.ndarray:
        """Blocking: the whole text as one utterance (pack embeddings, refinement)."""
        tokens = tokenize(phonemize(text, "en-us"))
        audio = self._model.infer(tokens, style_row(style, len(tokens)), 1.0, f0_scale)
        return trim_silence(audio, SAMPLE_RATE)

    def _require_loaded(self) -> None:
        if not self._model.loaded or not self._packs:
            raise EngineUnavailable("the embedded engine is not loaded")
