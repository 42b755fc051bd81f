"""Pronunciation rules and pauses in real speech: the embedded engine says a respelled word as
respelled and a phoneme rule's word as its phonemes, which Whisper then hears; a break is a
real gap in the audio."""

# IPA letters that look like ASCII ones are these tests' subject, not typos.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import io
import re
import wave

import numpy as np

from tests.api.conftest import create_voice
from tests.api.embedded_helpers import container
from voxhub.audio.recognizer import Recognizer

__all__ = ["container"]  # the fixture: the app over the embedded engine
BASE = "/api/v1/pronunciation-dictionaries"


def pcm_of(wav_bytes: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(wav_bytes)) as f:
        audio = np.frombuffer(f.readframes(f.getnframes()), np.int16).astype(np.float32) / 32768
        return audio, f.getframerate()


def words_heard(wav_bytes: bytes) -> list[str]:
    audio, rate = pcm_of(wav_bytes)
    text = Recognizer(threads=2).transcribe(audio, rate)
    return re.findall(r"[a-z']+", text.lower())


async def speak(client, vid: str, text: str, dictionaries: list[str]) -> bytes:
    r = await client.post(
        "/api/v1/speech",
        json={"voice_id": vid, "text": text, "pronunciation_dictionary_ids": dictionaries},
    )
    assert r.status_code == 200, r.text
    return r.content


async def test_respelled_and_phoneme_words_are_heard_as_the_rules_say(client) -> None:
    vid = (await create_voice(client))["id"]
    r = await client.post(
        BASE,
        json={
            "name": "Pets",
            "rules": [
                {"type": "alias", "string_to_replace": "hamster", "alias": "rabbit"},
                {"type": "phoneme", "string_to_replace": "cat", "phoneme": "ˈdɔɡ"},
                {
                    "type": "phoneme",
                    "string_to_replace": "parrot",
                    "phoneme": "M AH1 NG K IY0",
                    "alphabet": "cmu-arpabet",
                },
            ],
        },
    )
    assert r.status_code == 201, r.text
    text = "My cat chased the hamster. Then the parrot sang."
    plain, ruled = await asyncio.gather(
        speak(client, vid, text, []), speak(client, vid, text, [r.json()["id"]])
    )
    heard_plain, heard_ruled = await asyncio.gather(
        asyncio.to_thread(words_heard, plain), asyncio.to_thread(words_heard, ruled)
    )
    print("plain:", heard_plain, "ruled:", heard_ruled)
    assert {"cat", "hamster", "parrot"} <= set(heard_plain)
    assert {"dog", "rabbit", "monkey"} <= set(heard_ruled)
    assert not {"cat", "hamster", "parrot"} & set(heard_ruled)


async def test_a_break_is_a_gap_in_real_speech(client) -> None:
    vid = (await create_voice(client))["id"]
    data = await speak(client, vid, 'Good morning. <break time="1500ms"/> Good night.', [])
    audio, rate = pcm_of(data)
    frame = rate // 100  # 10 ms frames
    loud = np.sqrt(np.mean(audio[: len(audio) // frame * frame].reshape(-1, frame) ** 2, 1))
    quiet = loud < 0.003
    longest = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        longest = max(longest, run)
    # The break, plus the engine's own short sentence pause around it; no other gap as long.
    assert 1.5 <= longest / 100 <= 1.9, longest / 100
