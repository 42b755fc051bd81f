"""What the neural engines share: optional imports, devices, weights, prompts and streaming."""

from __future__ import annotations

import asyncio
import importlib
import json
import struct
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
import soxr

from voxhub.core.errors import (
    EngineFailure,
    EngineUnavailable,
    InvalidInput,
    InvalidText,
    NotEnoughSpeech,
    VoxhubError,
)
from voxhub.engines.base import AudioChunk, SynthesisParams
from voxhub.settings import NeuralSettings
from voxhub.text.split import split_sentences

T = TypeVar("T")

PROFILE_MAGIC = b"VXNZ"  # voxhub neural zero-shot prompt
PROFILE_FORMAT = 1
_FADE_S = 0.02
_SILENT_PEAK = 1e-4


def require(module: str, engine: str, extra: str) -> ModuleType:
    """Import an engine's package, or say which extra brings it (not an ImportError)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EngineUnavailable(
            f"the {engine} engine needs the {module!r} package ({exc}); install voxhub[{extra}] "
            "in the worker that runs it (README: Neural engines)",
            engine=engine,
        ) from exc


def pick_device(setting: str, engine: str) -> str:
    """ "auto" means the first CUDA device when torch sees one, else the CPU."""
    import torch

    wanted = setting.strip().lower() or "auto"
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise EngineUnavailable(
            f"{engine}: device {setting!r} asked for, but this torch sees no CUDA device",
            engine=engine,
        )
    return wanted


def fetch(spec: str, engine: str) -> Path:
    """A weights file: a local path, or `hf://owner/repo/file[@revision]` from the model hub."""
    if spec.startswith("hf://"):
        repo_and_file, _, revision = spec.removeprefix("hf://").partition("@")
        parts = repo_and_file.split("/")
        if len(parts) < 3:
            raise EngineUnavailable(
                f"{engine}: {spec!r} is not hf://owner/repo/file", engine=engine
            )
        from huggingface_hub import hf_hub_download

        try:
            fetched = hf_hub_download(
                repo_id="/".join(parts[:2]), filename="/".join(parts[2:]), revision=revision or None
            )
        except Exception as exc:  # offline, unknown repo, gated: all mean "no weights here"
            raise EngineUnavailable(
                f"{engine}: could not fetch {spec} from the model hub ({type(exc).__name__}); "
                "point the setting at a local copy",
                engine=engine,
            ) from exc
        return Path(fetched)
    path = Path(spec).expanduser()
    if not path.exists():
        raise EngineUnavailable(f"{engine}: no weights at {path}", engine=engine)
    return path


@dataclass(frozen=True)
class Prompt:
    """A zero-shot voice: the reference speech, its transcript and any prompt features.

    `model` names the weights the features were computed with; audio and transcript alone
    suit any weights of the engine.
    """

    engine: str
    model: str
    sample_rate: int
    samples: np.ndarray
    transcript: str = ""
    features: bytes = b""


def encode_prompt(prompt: Prompt) -> bytes:
    """Profile bytes: magic, a JSON header, 16-bit PCM, then the features."""
    pcm = _pcm16(prompt.samples).tobytes()
    header = json.dumps(
        {
            "format": PROFILE_FORMAT,
            "engine": prompt.engine,
            "model": prompt.model,
            "sample_rate": prompt.sample_rate,
            "transcript": prompt.transcript,
            "pcm_bytes": len(pcm),
            "feature_bytes": len(prompt.features),
        }
    ).encode()
    return PROFILE_MAGIC + struct.pack("<I", len(header)) + header + pcm + prompt.features


def decode_prompt(data: bytes, engine: str) -> Prompt:
    """The prompt in a profile of `engine`; another engine's or a damaged one is refused."""
    try:
        if data[:4] != PROFILE_MAGIC:
            raise ValueError("no neural prompt magic")
        (size,) = struct.unpack("<I", data[4:8])
        head = json.loads(data[8 : 8 + size])
        start = 8 + size
        pcm_end = start + int(head["pcm_bytes"])
        end = pcm_end + int(head["feature_bytes"])
        if head["format"] != PROFILE_FORMAT or end != len(data) or int(head["pcm_bytes"]) % 2:
            raise ValueError("wrong format or length")
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise InvalidInput(f"this voice profile is not a {engine} profile") from exc
    if head["engine"] != engine:
        raise InvalidInput(f"this voice was made for {head['engine']}, not {engine}")
    samples = np.frombuffer(data[start:pcm_end], "<i2").astype(np.float32) / 32767.0
    return Prompt(
        engine=engine,
        model=str(head["model"]),
        sample_rate=int(head["sample_rate"]),
        samples=samples,
        transcript=str(head["transcript"]),
        features=data[pcm_end:end],
    )


def _pcm16(samples: np.ndarray) -> np.ndarray:
    return np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")


def as_stored(samples: np.ndarray) -> np.ndarray:
    """Samples as a profile gives them back (16-bit), so what enrolment computes from them
    is what synthesis would compute from the stored profile."""
    return _pcm16(samples).astype(np.float32) / 32767.0


def reference_audio(samples: np.ndarray, rate: int, target: int, s: NeuralSettings) -> np.ndarray:
    """The reference at `target` Hz, at least the minimum long, cut to the maximum."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if x.size == 0 or rate <= 0:
        raise NotEnoughSpeech("the reference holds no audio", speech_s=0.0)
    if not np.isfinite(x).all():
        raise InvalidInput("the reference holds samples that are not numbers")
    seconds = x.size / rate
    if seconds < s.neural_min_reference_s:
        raise NotEnoughSpeech(
            f"{seconds:.1f} s of reference; at least {s.neural_min_reference_s:g} s is needed",
            speech_s=round(seconds, 2),
            min_speech_s=s.neural_min_reference_s,
        )
    if float(np.max(np.abs(x))) < _SILENT_PEAK:
        raise NotEnoughSpeech("the reference is silent", speech_s=0.0)
    if rate != target:
        x = soxr.resample(x, rate, target).astype(np.float32)
    longest = round(s.neural_max_reference_s * target)
    if x.size > longest:
        x = x[:longest].copy()
        fade = min(longest, round(_FADE_S * target))
        x[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return as_stored(x)


def check_request(engine: str, languages: tuple[str, ...], params: SynthesisParams) -> None:
    """Refuse what the engine cannot do, rather than ignore it."""
    if params.language.lower() not in languages:
        raise InvalidInput(
            f"{engine} does not speak {params.language!r} (it speaks {', '.join(languages)})"
        )


def fixed_speed(engine: str, params: SynthesisParams) -> None:
    """For engines that have no speed control."""
    if abs(params.speed - 1.0) > 1e-6:
        raise InvalidInput(f"{engine} speaks at one speed; ask for speed 1.0")


def sentences(text: str) -> list[str]:
    """The sentences to speak one at a time (each becomes a chunk, or several)."""
    pieces = split_sentences(text)
    if not any(any(ch.isalnum() for ch in piece) for piece in pieces):
        raise InvalidText("nothing to say: the text has no words")
    return [p for p in pieces if any(ch.isalnum() for ch in p)]


def chunk(samples: Any, rate: int, text: str) -> AudioChunk:
    """A float32 chunk in [-1, 1] from a model's output (tensor or array, any shape of one)."""
    if hasattr(samples, "detach"):
        samples = samples.detach().float().cpu().numpy()
    audio = np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1))
    return AudioChunk(np.clip(audio, -1.0, 1.0), rate, text=text)


class _Stopped(Exception):
    """The consumer went away: the producing thread stops at its next chunk."""


async def stream_thread(
    engine: str, produce: Callable[[Callable[[T], None]], None]
) -> AsyncIterator[T]:
    """Run `produce(emit)` in a thread and yield what it emits, as it emits it.

    Model calls block for seconds, so they run off the event loop; the consumer gets each chunk
    as soon as it exists. When the consumer stops early, the thread stops at its next `emit`.
    Errors that are not voxhub's become EngineFailure.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()

    def put(kind: str, value: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError as exc:  # the loop closed under us
            raise _Stopped from exc

    def emit(item: T) -> None:
        if stop.is_set():
            raise _Stopped
        put("item", item)

    def run() -> None:
        try:
            produce(emit)
        except _Stopped:
            return
        except VoxhubError as exc:
            put("error", exc)
        except Exception as exc:  # the model's own errors (CUDA out of memory, shapes, ...)
            failure = EngineFailure(f"{engine} failed: {type(exc).__name__}: {exc}", engine=engine)
            failure.__cause__ = exc
            put("error", failure)
        else:
            put("done", None)

    worker = loop.run_in_executor(None, run)
    try:
        while True:
            kind, value = await queue.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                break
        await worker
    finally:
        stop.set()


def seeded(seed: int) -> None:
    """Make sampling repeatable for one sentence (torch's global generator, CPU and CUDA)."""
    import torch

    torch.manual_seed(seed & 0x7FFF_FFFF)
