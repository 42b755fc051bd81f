"""ElevenLabs' text-in WebSocket, driven over a real socket to the app on loopback.

The SDK's own helper (`convert_realtime`) always dials `wss://`, so these tests speak the same
protocol with `websockets` (the SDK's own dependency) over plain `ws://` on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.api.conftest import Account, counts, create_voice
from voxhub.compat.elevenlabs import stream_input
from voxhub.container import Container
from voxhub.engines.fake import WORD_SECONDS


def _url(live_url: str, voice_id: str, **query: str) -> str:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{live_url.replace('http', 'ws', 1)}/v1/text-to-speech/{voice_id}/stream-input?{q}"


async def _replies(ws: Any) -> list[dict[str, Any]]:
    out = []
    async for raw in ws:
        out.append(json.loads(raw))
    return out


async def test_tokens_in_audio_and_timings_out(
    live_url: str, user_a: Account, client: httpx.AsyncClient
) -> None:
    voice = (await create_voice(client))["id"]
    url = _url(live_url, voice, output_format="pcm_24000")
    tokens = ["Hel", "lo there", ", Dr. Smith. ", "I have ", "12", " apples", "! And"]
    async with connect(url, additional_headers={"xi-api-key": user_a.api_key}) as ws:
        await ws.send(json.dumps({"text": " ", "voice_settings": {"speed": 1.0}}))
        first_audio = None
        for token in tokens:
            await ws.send(json.dumps({"text": token}))
            if first_audio is None and token.endswith(". "):
                # A sentence end has arrived: its audio comes before the text is finished.
                first_audio = json.loads(await asyncio.wait_for(ws.recv(), 30))
        await ws.send(json.dumps({"text": " more.", "flush": True}))
        await ws.send(json.dumps({"text": ""}))
        replies = await _replies(ws)
        assert ws.close_code == 1000
    assert first_audio is not None and first_audio["audio"]
    replies = [first_audio, *replies]
    assert replies[-1] == {"isFinal": True}
    pcm = b"".join(base64.b64decode(r["audio"]) for r in replies if r.get("audio"))
    text = "".join(tokens) + " more."
    words = text.split()
    assert len(pcm) / 2 / 24000 == pytest.approx(len(words) * WORD_SECONDS, abs=0.02)
    chars: list[str] = []
    starts: list[int] = []
    for r in replies:
        if r.get("alignment"):
            chars += r["alignment"]["chars"]
            starts += r["alignment"]["charStartTimesMs"]
    assert "".join(chars) == text
    assert starts == sorted(starts)
    at = 0
    for k, word in enumerate(words):  # each word starts where the fake engine said it
        at = text.index(word, at)
        assert starts[at] == pytest.approx(k * WORD_SECONDS * 1000, abs=2), word
        at += len(word)


async def _closed_with(ws: Any) -> tuple[int | None, dict[str, Any] | None]:
    said = None
    try:
        async for raw in ws:
            said = json.loads(raw)
    except ConnectionClosed:
        pass
    return ws.close_code, said


async def test_refusals_close_with_documented_codes(
    live_url: str,
    user_a: Account,
    client: httpx.AsyncClient,
    container: Container,
) -> None:
    voice = (await create_voice(client))["id"]
    key = {"xi-api-key": user_a.api_key}
    before = await counts(container)
    async with connect(_url(live_url, voice)) as ws:  # no key anywhere
        await ws.send(json.dumps({"text": " "}))
        assert (await _closed_with(ws))[0] == 4401
    async with connect(_url(live_url, "0" * 26), additional_headers=key) as ws:
        await ws.send(json.dumps({"text": " "}))
        await ws.send(json.dumps({"text": "Hello there. "}))
        code, said = await _closed_with(ws)
        assert code == 4404 and said is not None and said["error"] == "voice_not_found"
    async with connect(
        _url(live_url, voice, output_format="alaw_8000"), additional_headers=key
    ) as ws:
        assert (await _closed_with(ws))[0] == 4422
    async with connect(_url(live_url, voice), additional_headers=key) as ws:
        await ws.send("not json at all")
        assert (await _closed_with(ws))[0] == 1007
    async with connect(_url(live_url, voice), additional_headers=key, max_size=None) as ws:
        await ws.send(json.dumps({"text": " "}))
        await ws.send(json.dumps({"text": "x" * 10_000_000}))  # 10 MB and no sentence end
        assert (await _closed_with(ws))[0] == 1009
    # The real 20 s: a connection that sends nothing more is closed, its key given in the message.
    async with connect(_url(live_url, voice)) as ws:
        await ws.send(json.dumps({"text": " ", "xi_api_key": user_a.api_key}))
        started = asyncio.get_running_loop().time()
        code, said = await _closed_with(ws)  # nothing more sent
        assert asyncio.get_running_loop().time() - started >= stream_input.IDLE_S - 1
        assert code == 4408 and said is not None and said["error"] == "input_timeout"
    assert await counts(container) == before


async def test_each_piece_counts_against_the_rate_limit_and_a_cookie_alone_opens_nothing(
    live_url: str,
    user_a: Account,
    client: httpx.AsyncClient,
    anon: httpx.AsyncClient,
    container: Container,
) -> None:
    voice = (await create_voice(client))["id"]
    container.limiter.per_minute["tts"] = 2
    key = {"xi-api-key": user_a.api_key}
    async with connect(
        _url(live_url, voice, output_format="pcm_24000"), additional_headers=key
    ) as ws:
        await ws.send(json.dumps({"text": " "}))
        for sentence in ("One here. ", "Two here. ", "Three here. "):
            await ws.send(json.dumps({"text": sentence}))
        code, said = await _closed_with(ws)
    # Two pieces spoken, the third refused: a socket speaks no more than HTTP requests would.
    assert code == 4429 and said is not None and said["error"] == "rate_limited"

    container.limiter.per_minute["tts"] = 1000
    r = await anon.post(
        "/api/v1/auth/web/login", json={"email": user_a.email, "password": user_a.password}
    )
    assert r.status_code == 200, r.text
    jar = "; ".join(f"{name}={value}" for name, value in r.cookies.items())
    async with connect(_url(live_url, voice), additional_headers={"cookie": jar}) as ws:
        await ws.send(json.dumps({"text": " "}))
        code, said = await _closed_with(ws)
    # The sign-in cookie, with no CSRF token a socket could send, is refused.
    assert code == 4403 and said is not None and said["error"] == "csrf_failed"
