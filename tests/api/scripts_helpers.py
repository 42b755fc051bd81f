"""Shared pieces of the script tests: the loopback model on a container, a cast, answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.api.characters_helpers import add_image, make_character, png
from tests.api.conftest import create_voice
from tests.llm.chat_server import Behaviour, RunningServer, serve
from voxhub.container import Container
from voxhub.llm.openai_compat import OpenAICompatLLM
from voxhub.settings import LlmSettings


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    yield from serve(Behaviour())


@pytest.fixture
def behaviour(server: RunningServer) -> Behaviour:
    vars(server.behaviour).update(vars(Behaviour()))
    return server.behaviour


@pytest.fixture
async def with_llm(
    container: Container, server: RunningServer, behaviour: Behaviour
) -> AsyncIterator[Container]:
    container.settings.llm = LlmSettings(
        llm_backend="openai",
        llm_base_url=server.base_url,
        llm_model="loopback-1",
        llm_timeout_s=5.0,
        llm_max_reply_tokens=2048,
    )
    container.llm = OpenAICompatLLM(container.settings.llm)
    await container.llm.load()
    yield container
    await container.llm.aclose()


async def cast(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """Mara (images labelled happy and sad) and Jon (no images), both voiced."""
    voice = await create_voice(client)
    mara = await make_character(client, voice["id"], "Mara", persona_prompt="A keeper.")
    jon = await make_character(client, voice["id"], "Jon")
    for label in ("happy", "sad"):
        assert (await add_image(client, mara["id"], png(), label)).status_code == 201
    return mara, jon


def answer(*lines: tuple[str, str], title: str = "At the lighthouse", **extra: Any) -> str:
    """A JSON answer as the model writes it: (speaker name, text) pairs."""
    body = [{"speaker": s, "text": t} | extra for s, t in lines]
    return json.dumps({"title": title, "lines": body})


GOOD = answer(("Mara", "The lamp is lit tonight."), ("Jon", "Then the ships are safe."))
