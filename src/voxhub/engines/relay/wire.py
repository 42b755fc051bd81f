"""What a relayed request and its replies look like on Redis, and the keys they live under.

A message is a JSON header and a binary tail (samples as float32, a profile's bytes), framed as
`len(header)` (4 bytes, big-endian) + header + tail, so audio is not inflated by base64 or JSON.

Keys, for a deployment named `name` (`VOXHUB_JOB_QUEUE_NAME`):
- `voxhub:{name}:relay:queue`: a list of request ids; a free worker pops one (BRPOP).
- `voxhub:{name}:relay:req:{id}`: the request. Taking it is GETDEL, so exactly one side owns it:
  the worker that read it, or the API that deleted it on giving up (a request nobody took in
  time is never run late). It expires on its own shortly after the API's wait.
- `voxhub:{name}:relay:reply:{id}`: a list the worker pushes replies to and the API pops from,
  in order; no reply is lost if the API is not yet listening (as it would be with pub/sub).
- `voxhub:{name}:relay:cancel:{id}`: set by the API when its client went away mid-stream; the
  worker looks before each piece and stops.

A worker's first reply is "accepted" (it took the request), then pieces, then "end" or "error".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxhub.core import errors
from voxhub.engines.base import (
    AudioChunk,
    ProfileStatus,
    Reference,
    SynthesisParams,
    VoiceProfile,
    WordTiming,
)

_LEN = 4


@dataclass(frozen=True)
class Keys:
    """The Redis keys of one deployment's relay."""

    name: str

    @property
    def queue(self) -> str:
        return f"voxhub:{self.name}:relay:queue"

    def request(self, rid: str) -> str:
        return f"voxhub:{self.name}:relay:req:{rid}"

    def reply(self, rid: str) -> str:
        return f"voxhub:{self.name}:relay:reply:{rid}"

    def cancel(self, rid: str) -> str:
        return f"voxhub:{self.name}:relay:cancel:{rid}"


def pack(header: dict[str, Any], tail: bytes = b"") -> bytes:
    head = json.dumps(header, separators=(",", ":"), default=str).encode()
    return len(head).to_bytes(_LEN, "big") + head + tail


def unpack(message: bytes) -> tuple[dict[str, Any], bytes]:
    size = int.from_bytes(message[:_LEN], "big")
    header = json.loads(message[_LEN : _LEN + size])
    if not isinstance(header, dict):
        raise ValueError("a relay message's header is not an object")
    return header, message[_LEN + size :]


def _samples(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype="<f4").tobytes()


def _from_samples(tail: bytes) -> np.ndarray:
    return np.frombuffer(tail, dtype="<f4").astype(np.float32)


# Requests


def synthesize_request(
    engine: str, text: str, voice: VoiceProfile, params: SynthesisParams
) -> bytes:
    return pack(
        {
            "op": "synthesize",
            "engine": engine,
            "text": text,
            "params": {
                "speed": params.speed,
                "language": params.language,
                "seed": params.seed,
                "lexicon": [list(pair) for pair in params.lexicon],
            },
            "voice": _profile_header(voice),
        },
        voice.data,
    )


def enroll_request(engine: str, reference: Reference) -> bytes:
    embedding = None if reference.embedding is None else _samples(reference.embedding)
    return pack(
        {
            "op": "enroll",
            "engine": engine,
            "sample_rate": reference.sample_rate,
            "seed": reference.seed,
            # float32 as float64 in JSON: every value comes back exactly
            "embedding": None if embedding is None else _from_samples(embedding).tolist(),
        },
        _samples(reference.samples),
    )


def forget_request(engine: str, voice: VoiceProfile) -> bytes:
    return pack({"op": "forget", "engine": engine, "voice": _profile_header(voice)}, voice.data)


def params_of(header: dict[str, Any]) -> SynthesisParams:
    p = header["params"]
    return SynthesisParams(
        speed=float(p["speed"]),
        language=str(p["language"]),
        seed=int(p["seed"]),
        lexicon=tuple((str(phrase), str(ipa)) for phrase, ipa in p.get("lexicon", [])),
    )


def reference_of(header: dict[str, Any], tail: bytes) -> Reference:
    embedding = header.get("embedding")
    return Reference(
        samples=_from_samples(tail),
        sample_rate=int(header["sample_rate"]),
        embedding=None if embedding is None else np.asarray(embedding, dtype=np.float32),
        seed=int(header["seed"]),
    )


# Replies


def chunk_reply(chunk: AudioChunk) -> bytes:
    words = [[w.word, w.start, w.end] for w in chunk.words]
    header = {"t": "chunk", "rate": chunk.sample_rate, "text": chunk.text, "words": words}
    return pack(header, _samples(chunk.samples))


def chunk_of(header: dict[str, Any], tail: bytes) -> AudioChunk:
    return AudioChunk(
        samples=_from_samples(tail),
        sample_rate=int(header["rate"]),
        text=str(header["text"]),
        words=[WordTiming(str(w), float(s), float(e)) for w, s, e in header["words"]],
    )


def profile_reply(profile: VoiceProfile) -> bytes:
    return pack({"t": "profile", **_profile_header(profile)}, profile.data)


def profile_of(header: dict[str, Any], tail: bytes) -> VoiceProfile:
    return VoiceProfile(
        engine=str(header["engine"]),
        engine_version=str(header["engine_version"]),
        data=tail,
        status=ProfileStatus(header["status"]),
        metrics={str(k): float(v) for k, v in header["metrics"].items()},
    )


def _profile_header(p: VoiceProfile) -> dict[str, Any]:
    return {
        "engine": p.engine,
        "engine_version": p.engine_version,
        "status": str(p.status),
        "metrics": p.metrics,
    }


ACCEPTED = pack({"t": "accepted"})
END = pack({"t": "end"})


def error_reply(exc: BaseException) -> bytes:
    """A voxhub error keeps its code, message and details; anything else is an engine failure."""
    if isinstance(exc, errors.VoxhubError):
        # The class too: some share a code (engine_failure is 500 from an engine here, 502 from
        # a provider that refused), and the API must answer as the worker would have.
        header = {"t": "error", "code": exc.code, "class": type(exc).__name__}
        header["message"] = exc.message
        try:
            return pack(header | {"extra": exc.extra})
        except (TypeError, ValueError):  # details JSON cannot carry: the code and message go
            return pack(header)
    return pack({"t": "error", "code": errors.EngineFailure.code, "message": "the engine failed"})


def error_of(header: dict[str, Any]) -> errors.VoxhubError:
    """The error a worker reported, as the class its code names (so the API answers the same)."""
    # Looked up each time: error classes defined in modules imported later count too.
    code, name = str(header.get("code")), header.get("class")
    same_code = [cls for cls in _subclasses(errors.VoxhubError) if cls.code == code]
    named = [cls for cls in same_code if cls.__name__ == name]
    # Otherwise the most general class with that code (listed parents first).
    cls = (named or same_code or [errors.EngineFailure])[0]
    extra = header.get("extra") or {}
    return cls(str(header.get("message") or cls.title), **extra)


def _subclasses(cls: type[errors.VoxhubError]) -> list[type[errors.VoxhubError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _subclasses(sub)
    return found
