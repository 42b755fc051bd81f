"""First audio through ElevenLabs' text-in WebSocket (`/v1/text-to-speech/{voice_id}/stream-input`).

The clock starts when the text is sent (after the opening message, as a client that has its
first sentence ready sends it) and stops at the first message that carries audio; the rest is
read to the end, so the server speaks and records the whole piece as it would for a client.
It uses `websockets`' blocking client (the library the WebSocket tests use) because the rest of
`make bench` is a blocking client too.
"""

from __future__ import annotations

import json
import time

from websockets.sync.client import connect

TIMEOUT_S = 120.0


def stream_input_url(base_url: str, voice_id: str) -> str:
    """The socket's address on the server at `base_url` (http -> ws), raw 24 kHz PCM."""
    ws = base_url.replace("http", "ws", 1).rstrip("/")
    return f"{ws}/v1/text-to-speech/{voice_id}/stream-input?output_format=pcm_24000"


def first_audio_s(base_url: str, api_key: str, voice_id: str, text: str) -> float:
    """Seconds from sending `text` (flushed) to the first audio the socket sends back."""
    with connect(stream_input_url(base_url, voice_id), open_timeout=TIMEOUT_S) as ws:
        ws.send(json.dumps({"text": " ", "xi_api_key": api_key}))
        t0 = time.perf_counter()
        ws.send(json.dumps({"text": text, "flush": True}))
        ws.send(json.dumps({"text": ""}))  # the end: read once the piece is spoken
        first: float | None = None
        final = False
        while not final:
            said = json.loads(ws.recv(timeout=TIMEOUT_S))
            if "error" in said:
                raise RuntimeError(f"stream-input refused: {said}")
            if said.get("audio") and first is None:
                first = time.perf_counter() - t0
            final = said.get("isFinal") is True
    if first is None:
        raise RuntimeError("stream-input sent no audio")
    return first
