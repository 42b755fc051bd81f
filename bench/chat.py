"""Chat with a character through the running server, embedded LLM and engine: time from the
request to the reply's first piece of text and to its first spoken audio (`"speak": true`).

Called by bench/run.py with its client and a voice; printed, never asserted.
"""

from __future__ import annotations

import statistics
import time

import httpx

LOAD_TIMEOUT_S = 300.0
QUESTIONS = [
    "Tell me about the lighthouse in two sentences.",
    "What do you see from the top tonight?",
    "How do you keep the lamp burning?",
    "What is the weather doing now?",
    "Why did you become a keeper?",
]


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 3) if xs else float("nan")


def _wait_for_model(client: httpx.Client, chat: str) -> float:
    """Ask until the embedded model has loaded (503 while it prepares); its load time."""
    started = time.perf_counter()
    while time.perf_counter() - started < LOAD_TIMEOUT_S:
        r = client.post(
            f"/api/v1/chats/{chat}/messages",
            json={"content": "Hello.", "stream": False, "max_tokens": 8},
        )
        if r.status_code == 201:
            return time.perf_counter() - started
        if r.status_code != 503:
            r.raise_for_status()
        client.post(f"/api/v1/chats/{chat}/reply", json={"stream": False, "max_tokens": 8})
        time.sleep(1.0)
    raise RuntimeError(f"the LLM did not load in {LOAD_TIMEOUT_S:.0f} s")


def measure_chat(client: httpx.Client, voice: str, runs: int) -> dict[str, float]:
    character = client.post(
        "/api/v1/characters",
        json={
            "display_name": "Keeper",
            "persona_prompt": "You keep a lighthouse. Answer in one or two short sentences.",
            "voice_id": voice,
        },
    )
    character.raise_for_status()
    chat = client.post("/api/v1/chats", json={"character_id": character.json()["id"]})
    chat.raise_for_status()
    chat_id = chat.json()["id"]
    load_s = _wait_for_model(client, chat_id)
    first_token, first_audio = [], []
    for i in range(runs):
        body = {
            "content": QUESTIONS[i % len(QUESTIONS)],
            "speak": True,
            "audio_format": "mp3",
            "max_tokens": 60,
        }
        t0 = time.perf_counter()
        token_at = audio_at = None
        with client.stream("POST", f"/api/v1/chats/{chat_id}/messages", json=body) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                now = time.perf_counter() - t0
                if line == "event: delta" and token_at is None:
                    token_at = now
                elif line == "event: audio" and audio_at is None:
                    audio_at = now
        if token_at is not None:
            first_token.append(token_at)
        if audio_at is not None:
            first_audio.append(audio_at)
    return {
        "chat_llm_first_load_s": round(load_s, 2),
        "chat_first_token_s_median": median(first_token),
        "chat_first_audio_s_median": median(first_audio),
        "chat_replies_spoken": len(first_audio),
    }
