"""The app over the embedded Kokoro engine instead of the fake one, for the few API tests that
need real speech: import `container` into the test module to replace the fake engine's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.conftest import make_settings
from tests.conftest import truncate_all
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.settings import EngineSettings


@pytest.fixture
async def container(
    tmp_path: Path, database_url: str, speaker_encoder: SpeakerEncoder, shared: Path
) -> AsyncIterator[Container]:
    settings = make_settings(tmp_path, database_url)
    settings.engine = EngineSettings(
        kokoro_voices_dir=shared / "models" / "kokoro" / "voices",
        kokoro_download=False,
        refine_profiles=False,  # the instant profile: these tests are about speech, not cloning
    )
    engine = EmbeddedEngine(settings, speaker_encoder)
    await engine.load()
    c = await build_container(
        settings,
        engines=EngineRegistry({"embedded": engine}, "embedded"),
        speaker=speaker_encoder,
        run_jobs=False,  # type: ignore[arg-type]
    )
    c.limiter.enabled = False  # real speech is slow, and the tests poll their jobs closely
    await truncate_all(database_url)
    await c.jobs.start()
    yield c
    await close_container(c)  # releases the engine too
