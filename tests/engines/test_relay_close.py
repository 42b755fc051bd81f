"""A relay registry closes the engines it replaced: they were built (a remote engine opens its
connection pool in its constructor) though never loaded in the API process."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.relay.client import relay_registry
from voxhub.engines.remote.elevenlabs import ElevenLabsEngine
from voxhub.settings import EngineSettings, Settings


async def test_closing_a_relay_registry_closes_the_engines_it_replaced(tmp_path: Path) -> None:
    engine_settings = EngineSettings(elevenlabs_api_key=SecretStr("sk-unused"))
    eleven = ElevenLabsEngine(engine_settings)
    local = EngineRegistry({"elevenlabs": eleven, "fake": FakeEngine()}, "fake")
    # Nothing connects to Redis until a request is relayed: none is needed here.
    settings = Settings(home=tmp_path, redis_url="redis://127.0.0.1:6379/0", engine=engine_settings)
    relayed = relay_registry(local, settings)
    assert relayed.get("elevenlabs") is not eleven
    assert not eleven._client.is_closed
    await relayed.aclose()
    assert eleven._client.is_closed
