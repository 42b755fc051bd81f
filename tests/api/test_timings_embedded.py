"""The embedded Kokoro engine's word times, as a generation keeps them, against Whisper's own
word times on the same audio (tiny.en, cross-attention alignment): within 150 ms median."""

from __future__ import annotations

import asyncio
import io
import re
import wave
from difflib import SequenceMatcher

import numpy as np

from tests.api.conftest import create_voice
from tests.api.embedded_helpers import container
from voxhub.audio.recognizer import Recognizer

__all__ = ["container"]  # the fixture: the app over the embedded engine
TEXT = (
    "The old lighthouse keeper climbed the stairs every evening. "
    "He watched the ships come home before the storm."
)


def _key(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


async def test_embedded_word_times_agree_with_whisper(client) -> None:
    vid = (await create_voice(client))["id"]
    r = await client.post("/api/v1/speech", json={"voice_id": vid, "text": TEXT})
    assert r.status_code == 200, r.text
    gen_id = r.headers["x-voxhub-generation-id"]
    timed = (await client.get(f"/api/v1/generations/{gen_id}/timings")).json()["words"]
    with wave.open(io.BytesIO(r.content)) as f:
        rate = f.getframerate()
        audio = np.frombuffer(f.readframes(f.getnframes()), np.int16).astype(np.float32) / 32768
    heard = await asyncio.to_thread(Recognizer(threads=2).timed_words, audio, rate)
    # Words both agree were said, matched in order; their starts compared.
    ours, theirs = [_key(w["word"]) for w in timed], [_key(w) for w, _, _ in heard]
    pairs = [
        (timed[block.a + k]["start"], heard[block.b + k][1])
        for block in SequenceMatcher(None, ours, theirs, autojunk=False).get_matching_blocks()
        for k in range(block.size)
    ]
    assert len(pairs) >= 0.8 * len(timed), (ours, theirs)
    errors = [abs(a - b) for a, b in pairs]
    print(f"median start error {np.median(errors):.3f} s over {len(pairs)} words")
    assert float(np.median(errors)) < 0.150, errors
