"""Helpers of the spoken-consent tests: a whole phrase synthesized by the embedded Kokoro
engine (no person can be recorded here), and challenge rows made directly."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.api.conftest import Account, make_settings
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.engines.base import SynthesisParams
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.safety.challenge_models import ConsentChallenge
from voxhub.safety.challenges import CHALLENGE_LIFETIME, phrase_text
from voxhub.safety.phrases import SENTENCES
from voxhub.settings import EngineSettings

INSTANCE = "Studio Nine"
CODE = "4271"
PHRASE = phrase_text(SENTENCES[0], INSTANCE, CODE)
# What the reference of the synthesized speaker says: not the phrase.
REFERENCE_TEXT = (
    "We spent the whole afternoon in the garden, talking about the places we would like to "
    "visit one day, and the friends we have not seen for a long time."
)


@pytest.fixture(scope="module")
async def kokoro(speaker_encoder: SpeakerEncoder, shared: Path, tmp_path_factory) -> dict:
    """One stock Kokoro voice saying the phrase and, separately, its reference text; and a
    second voice saying the phrase (WAV bytes each)."""
    settings = make_settings(tmp_path_factory.mktemp("kokoro"), "sqlite+aiosqlite://")
    settings.engine = EngineSettings(
        kokoro_voices_dir=shared / "models" / "kokoro" / "voices", kokoro_download=False
    )
    engine = EmbeddedEngine(settings, speaker_encoder)
    await engine.load()

    async def say(text: str, voice: str) -> bytes:
        profile = engine.stock_profile(voice)
        chunks = [
            c.samples
            async for c in engine.synthesize(text, profile, SynthesisParams(language="en"))
        ]
        buf = io.BytesIO()
        sf.write(buf, np.concatenate(chunks), engine.info.sample_rate, format="WAV")
        return buf.getvalue()

    try:
        return {
            "phrase": await say(PHRASE, "af_heart"),
            "reference": await say(REFERENCE_TEXT, "af_heart"),
            "phrase_other_voice": await say(PHRASE, "am_michael"),
        }
    finally:
        await engine.aclose()


async def add_challenge(c: Container, user: Account, text: str, code: str, **row) -> str:
    now = utcnow()
    challenge = ConsentChallenge(
        user_id=user.id,
        text=text,
        code=code,
        created_at=now,
        expires_at=row.pop("expires_at", now + CHALLENGE_LIFETIME),
        **row,
    )
    async with c.sessions() as s:
        s.add(challenge)
        await s.commit()
        return challenge.id


async def challenge_row(c: Container, phrase_id: str) -> ConsentChallenge:
    async with c.sessions() as s:
        row = await s.get(ConsentChallenge, phrase_id)
        assert row is not None
        return row
