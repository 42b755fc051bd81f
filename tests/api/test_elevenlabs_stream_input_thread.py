"""ElevenLabs' text-in WebSocket times each piece's characters off the event loop: the aligner
(difflib over the text, seconds on a long one) runs in a thread, never on the loop's."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.api.conftest import Account, create_voice
from voxhub.compat.elevenlabs import stream_input
from voxhub.synthesis.alignment import Aligner, Chars


async def test_the_aligner_runs_in_a_thread(
    live_url: str, user_a: Account, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran_on: list[int] = []

    class Recording(Aligner):  # the real aligner, noting the thread of each call
        def feed(self, words: Any) -> Chars:
            ran_on.append(threading.get_ident())
            return super().feed(words)

        def finish(self, end: float) -> Chars:
            ran_on.append(threading.get_ident())
            return super().finish(end)

    monkeypatch.setattr(stream_input, "Aligner", Recording)
    voice = (await create_voice(client))["id"]
    base = live_url.replace("http", "ws", 1)
    url = f"{base}/v1/text-to-speech/{voice}/stream-input?output_format=pcm_24000"
    async with connect(url, additional_headers={"xi-api-key": user_a.api_key}) as ws:
        await ws.send(json.dumps({"text": " "}))
        await ws.send(json.dumps({"text": "Hello there. How are you?", "flush": True}))
        await ws.send(json.dumps({"text": ""}))
        replies = [json.loads(raw) async for raw in ws]
    assert replies[-1] == {"isFinal": True}
    chars = [c for r in replies if r.get("alignment") for c in r["alignment"]["chars"]]
    assert "".join(chars) == "Hello there. How are you?"
    assert any(base64.b64decode(r["audio"]) for r in replies if r.get("audio"))
    assert len(ran_on) >= 2  # fed at least once, finished once
    assert threading.get_ident() not in ran_on  # this test runs on the app's loop
