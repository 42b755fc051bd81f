"""`make bench`'s WebSocket helper against the app on loopback: it measures something (a time
above zero), never a figure to hold the code to."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bench.websocket import first_audio_s
from tests.api.conftest import Account, create_voice


async def test_first_audio_s_measures_the_stream_input_socket(
    live_url: str, user_a: Account, client: httpx.AsyncClient
) -> None:
    voice = (await create_voice(client))["id"]
    text = "Hello there. This is the bench."
    # The helper blocks (as the bench does): in a thread, so the server here keeps serving.
    seconds = await asyncio.to_thread(first_audio_s, live_url, user_a.api_key, voice, text)
    assert seconds > 0


async def test_first_audio_s_says_when_the_socket_refuses(live_url: str) -> None:
    with pytest.raises(RuntimeError, match="'error': 'invalid_token'"):
        await asyncio.to_thread(first_audio_s, live_url, "vxh_wrong", "v_none", "Hello there.")
