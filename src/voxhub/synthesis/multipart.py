"""`timings: true` answered as `multipart/mixed`: the audio as itself, then its timings JSON.

JSON with the audio in base64 stays the default: any client can read it. A client that asks for
`multipart/mixed` in `Accept` gets the audio bytes as they are (no base64: a quarter smaller, and
no decoding before playback) in a part labelled with its own media type and a filename, followed
by the timings in the shape of `GET /api/v1/generations/{id}/timings`. `multipart/mixed`
(RFC 2046), not `multipart/form-data`: form-data (RFC 7578) is defined for what a form submits,
mixed for a body made of independent entities, which is what this is; it is what the standard
library's `email` parser and the usual multipart readers take for a response.

Negotiation follows RFC 9110 §12.5.1: the highest `q` wins; at equal `q` an exact media type
beats a wildcard, and JSON (the default) beats multipart. A header that allows neither is 406
`not_acceptable`, decided before anything is paid for or rendered.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.audio.encode import FORMATS
from voxhub.container import Container
from voxhub.core.errors import NotAcceptable
from voxhub.synthesis import timed
from voxhub.synthesis.models import Generation
from voxhub.synthesis.schemas import SpeechRequest

JSON = "application/json"
MIXED = "multipart/mixed"
OFFERED = (JSON, MIXED)  # in the server's order of preference
_MAX_RANGES = 64  # an Accept header is a few ranges; a longer one is not read past this


@dataclass(frozen=True)
class _Range:
    kind: str
    subtype: str
    q: float


def _ranges(accept: str) -> list[_Range]:
    out = []
    for item in accept.split(",")[:_MAX_RANGES]:
        media, *params = (p.strip() for p in item.split(";"))
        kind, slash, subtype = media.lower().partition("/")
        if not slash or not kind or not subtype:
            continue  # not a media range: ignored, as unknown tokens are
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0  # a q that does not parse accepts nothing
        out.append(_Range(kind, subtype, q))
    return out


def _rank(offer: str, ranges: list[_Range]) -> tuple[float, int]:
    """The `q` the most specific matching range gives `offer`, and how specific it was."""
    kind, _, subtype = offer.partition("/")
    best: tuple[int, float] = (-1, 0.0)
    for r in ranges:
        if r.kind == kind and r.subtype == subtype:
            specific = 2
        elif r.kind == kind and r.subtype == "*":
            specific = 1
        elif r.kind == "*" and r.subtype == "*":
            specific = 0
        else:
            continue
        best = max(best, (specific, r.q))
    return best[1], best[0]


def negotiate(accept: str | None) -> str:
    """`application/json` or `multipart/mixed` for a timed answer; 406 when `accept` allows
    neither. No header (or an empty one) is the default, JSON."""
    if accept is None or not accept.strip():
        return JSON
    ranges = _ranges(accept)
    ranked = [(*_rank(offer, ranges), -i, offer) for i, offer in enumerate(OFFERED)]
    q, _, _, offer = max(ranked)
    if q <= 0:
        raise NotAcceptable(
            f"timed speech is answered as {' or '.join(OFFERED)}; Accept allows neither",
            available=list(OFFERED),
        )
    return offer


def _part(headers: dict[str, str], body: bytes, boundary: bytes) -> list[bytes]:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
    return [b"--", boundary, b"\r\n", head, b"\r\n", body, b"\r\n"]


def timed_multipart(gen: Generation, audio: bytes, timings_json: bytes) -> tuple[bytes, str]:
    """Blocking (copies the audio): the body and its Content-Type."""
    boundary = secrets.token_hex(16).encode()
    # A random boundary inside binary audio is astronomically unlikely, but a body it splits
    # would be wrong, so it is checked rather than assumed.
    while boundary in audio or boundary in timings_json:
        boundary = secrets.token_hex(16).encode()
    spec = FORMATS[gen.format]
    audio_headers = {
        "Content-Type": spec.media_type,
        "Content-Disposition": f'attachment; filename="{gen.id}.{spec.extension}"',
        "Content-Length": str(len(audio)),
    }
    timings_headers = {
        "Content-Type": JSON,
        "Content-Disposition": f'attachment; filename="{gen.id}.timings.json"',
        "Content-Length": str(len(timings_json)),
    }
    chunks = _part(audio_headers, audio, boundary) + _part(timings_headers, timings_json, boundary)
    body = b"".join([*chunks, b"--", boundary, b"--\r\n"])
    return body, f'{MIXED}; boundary="{boundary.decode()}"'


async def speak_multipart(
    c: Container, session: AsyncSession, req: SpeechRequest, p: Principal
) -> tuple[Generation, bytes, str, bool]:
    """`timings: true` as multipart/mixed: (generation, body, content type, from the cache)."""
    said = await timed.speak_with_timings(c, session, req, p)
    # The timings as GET .../timings reads them (not a 404 for an engine that times no words:
    # this speech is already paid for, so it is answered with the words it has, none).
    timings_json = await asyncio.to_thread(timed.timings_body, said.gen, said.kept)
    body, content_type = await asyncio.to_thread(timed_multipart, said.gen, said.data, timings_json)
    return said.gen, body, content_type, said.cached
