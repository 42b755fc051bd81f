"""What every remote engine shares: its HTTP client, the provider's errors as voxhub's, PCM.

Keys come from settings as `SecretStr` and go only into the client's default headers; every
message that leaves here (errors, logs) has the key cut out, in case a provider echoes it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import wave
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import numpy as np
from pydantic import SecretStr

from voxhub.core.errors import (
    EngineAuthFailed,
    EngineFailure,
    EngineRejected,
    EngineTimeout,
    EngineUnavailable,
)
from voxhub.engines.base import AudioChunk, Reference

log = logging.getLogger(__name__)

# A provider's 429 or 5xx without a Retry-After of its own: try again after this many seconds.
DEFAULT_RETRY_AFTER_S = 5
# Streamed PCM becomes a chunk once this much has arrived (and at the end), so audio flows on
# as the provider sends it without a chunk per network packet.
CHUNK_SECONDS = 0.05


def open_client(
    base_url: str, api_key: SecretStr | None, timeout_s: float, *, auth: str = "bearer"
) -> httpx.AsyncClient:
    """One client per engine: pooled connections, the timeout for connect, each read and write."""
    headers = {}
    if api_key is not None:
        secret = api_key.get_secret_value()
        headers = {"Authorization": f"Bearer {secret}"} if auth == "bearer" else {auth: secret}
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"), headers=headers, timeout=httpx.Timeout(timeout_s)
    )


def redact(text: str, api_key: SecretStr | None) -> str:
    """`text` without the key (providers' 401 messages sometimes quote what they were sent)."""
    if api_key is not None and (secret := api_key.get_secret_value()):
        text = text.replace(secret, "***")
    return text


async def check(response: httpx.Response, provider: str, api_key: SecretStr | None) -> None:
    """Raise the domain error for a provider's non-2xx answer (reading its body first)."""
    if response.is_success:
        return
    await response.aread()
    status = response.status_code
    message = redact(_message(response), api_key)[:500]
    log.warning("%s answered %s: %s", provider, status, message)
    if status in (401, 403):
        raise EngineAuthFailed(
            f"{provider} refused voxhub's credentials ({status}).", provider=provider
        )
    if status == 429 or status >= 500:
        told = _retry_after(response)
        raise EngineUnavailable(
            f"{provider} cannot take the request now ({status}).",
            provider=provider,
            retry_after=DEFAULT_RETRY_AFTER_S if told is None else told,
            # Only what the provider itself said decides how long its engine is down.
            **({} if told is None else {"provider_retry_after": told}),
        )
    raise EngineRejected(f"{provider} refused the request ({status}): {message}", provider=provider)


@contextlib.contextmanager
def transport_errors(provider: str) -> Iterator[None]:
    """httpx's own failures (no answer, no connection) as domain errors."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise EngineTimeout(f"{provider} did not answer in time.", provider=provider) from exc
    except httpx.TransportError as exc:
        raise EngineUnavailable(
            f"{provider} cannot be reached.",
            provider=provider,
            retry_after=DEFAULT_RETRY_AFTER_S,
        ) from exc


async def pcm_chunks(
    response: httpx.Response, sample_rate: int, text: str
) -> AsyncIterator[AudioChunk]:
    """Signed 16-bit little-endian mono PCM, as it arrives, as float32 chunks.

    The first chunk carries the text (remote engines give no word timings)."""
    least = max(2, int(sample_rate * CHUNK_SECONDS) * 2)
    pending = bytearray()
    first = True
    async for data in response.aiter_bytes():
        pending += data
        if len(pending) < least:
            continue
        usable = len(pending) - len(pending) % 2  # a sample may straddle two reads
        yield _chunk(bytes(pending[:usable]), sample_rate, text if first else "")
        del pending[:usable]
        first = False
    if len(pending) % 2:
        raise EngineFailure("the provider's audio ended in the middle of a sample")
    if pending or first:
        yield _chunk(bytes(pending), sample_rate, text if first else "")


def _chunk(data: bytes, sample_rate: int, text: str) -> AudioChunk:
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return AudioChunk(samples=samples, sample_rate=sample_rate, text=text)


def _message(response: httpx.Response) -> str:
    """The provider's own words: OpenAI's {error: {message}}, Fish's {message}, ElevenLabs'
    {detail: {message}}, or the body's text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(body, dict):
        for key in ("error", "detail"):
            inner = body.get(key)
            if isinstance(inner, dict) and isinstance(inner.get("message"), str):
                return str(inner["message"])
            if isinstance(inner, str):
                return inner
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return response.text.strip()


def _retry_after(response: httpx.Response) -> int | None:
    """The provider's Retry-After in seconds, if it sent one (ASCII digits: "²" is a digit)."""
    value = response.headers.get("retry-after", "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def reference_wav(reference: Reference) -> bytes:
    """The reference as 16-bit mono WAV, a format every provider takes."""
    pcm = (np.clip(reference.samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(reference.sample_rate)
        w.writeframes(pcm)
    return buf.getvalue()


async def spoken_pcm(
    client: httpx.AsyncClient,
    provider: str,
    api_key: SecretStr | None,
    path: str,
    text: str,
    sample_rate: int,
    **request: Any,
) -> AsyncIterator[AudioChunk]:
    """POST a speech request and pass on its raw PCM as chunks, errors as domain errors."""
    with transport_errors(provider):
        async with client.stream("POST", path, **request) as response:
            await check(response, provider, api_key)
            async for chunk in pcm_chunks(response, sample_rate, text):
                yield chunk


async def delete_remote(
    client: httpx.AsyncClient, provider: str, api_key: SecretStr | None, path: str
) -> None:
    """DELETE what voxhub made at the provider; already gone there is done too."""
    with transport_errors(provider):
        response = await client.delete(path)
    if response.status_code != 404:
        await check(response, provider, api_key)
