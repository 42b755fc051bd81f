"""Fixtures shared by the engine tests: one loaded embedded engine for the whole run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from voxhub.audio.speaker import SpeakerEncoder
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.settings import EngineSettings, Settings


def _settings(home: Path, shared: Path) -> Settings:
    voices = shared / "models" / "kokoro" / "voices"
    engine = EngineSettings(kokoro_voices_dir=voices, kokoro_download=False, engine_threads=2)
    return Settings(home=home, engine=engine)


@pytest.fixture(scope="session")
async def engine(
    tmp_path_factory: pytest.TempPathFactory, shared: Path, speaker_encoder: SpeakerEncoder
) -> AsyncIterator[EmbeddedEngine]:
    """One loaded engine (model, packs, pack embeddings) for the whole run."""
    eng = EmbeddedEngine(_settings(tmp_path_factory.mktemp("embedded"), shared), speaker_encoder)
    await eng.load()
    print(f"\nembedded engine first load: {eng.load_stats}")
    yield eng
    await eng.aclose()
