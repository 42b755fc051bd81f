"""The OpenAI-compatible backend, through the real `openai` client, against the loopback server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import pytest

from tests.llm.chat_server import Behaviour, RunningServer, free_port, serve
from voxhub.core.errors import LlmBadOutput, LlmUnavailable
from voxhub.llm.factory import open_llm
from voxhub.llm.openai_compat import OpenAICompatLLM
from voxhub.llm.port import ChatMessage, Finished, StreamEvent, TextDelta, complete
from voxhub.settings import LlmSettings

MESSAGES = [
    ChatMessage("system", "You are a terse assistant."),
    ChatMessage("user", "Say hello."),
]


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    yield from serve(Behaviour())


@pytest.fixture
def behaviour(server: RunningServer) -> Behaviour:
    fresh = Behaviour()
    vars(server.behaviour).update(vars(fresh))
    return server.behaviour


def settings(base_url: str, **overrides: object) -> LlmSettings:
    values: dict[str, object] = {
        "llm_backend": "openai",
        "llm_base_url": base_url,
        "llm_model": "loopback-1",
        "llm_timeout_s": 5.0,
    }
    return LlmSettings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
async def llm(server: RunningServer, behaviour: Behaviour) -> AsyncIterator[OpenAICompatLLM]:
    backend = open_llm(settings(server.base_url))
    assert isinstance(backend, OpenAICompatLLM)
    await backend.load()
    yield backend
    await backend.aclose()


async def collect(events: AsyncIterator[StreamEvent]) -> tuple[list[str], Finished]:
    deltas: list[str] = []
    finished = None
    async for event in events:
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            assert finished is None, "one Finished, last"
            finished = event
    assert finished is not None
    return deltas, finished


async def test_streams_text_piece_by_piece_with_usage(
    llm: OpenAICompatLLM, behaviour: Behaviour
) -> None:
    deltas, finished = await collect(llm.stream(MESSAGES, max_tokens=100, temperature=0.2))
    assert "".join(deltas) == behaviour.reply
    assert len(deltas) == len(behaviour.reply.split(" "))
    assert finished.finish_reason == "stop"
    assert finished.completion_tokens == len(deltas)
    assert finished.prompt_tokens == 7  # words in the two messages, as the server counts
    assert finished.model == "loopback-1"
    sent = behaviour.requests[-1]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["messages"] == [{"role": m.role, "content": m.content} for m in MESSAGES]
    assert sent["temperature"] == 0.2
    assert "response_format" not in sent


async def test_token_cap_ends_with_length(llm: OpenAICompatLLM, behaviour: Behaviour) -> None:
    deltas, finished = await collect(llm.stream(MESSAGES, max_tokens=3))
    assert len(deltas) == 3
    assert finished.finish_reason == "length"
    assert behaviour.requests[-1]["max_tokens"] == 3


async def test_configured_cap_wins_over_a_larger_request(
    server: RunningServer, behaviour: Behaviour
) -> None:
    backend = open_llm(settings(server.base_url, llm_max_reply_tokens=2))
    try:
        text, finished = await complete(backend, MESSAGES, max_tokens=1000)
    finally:
        await backend.aclose()
    assert finished.finish_reason == "length"
    assert behaviour.requests[-1]["max_tokens"] == 2
    assert text == "Hello there,"


async def test_json_schema_is_passed_through_and_checked(
    llm: OpenAICompatLLM, behaviour: Behaviour
) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "number"}},
        "required": ["name", "age"],
    }
    behaviour.reply = json.dumps({"name": "Ada", "age": 36})
    text, finished = await complete(llm, MESSAGES, max_tokens=50, json_schema=schema)
    assert json.loads(text) == {"name": "Ada", "age": 36}
    assert finished.finish_reason == "stop"
    sent = behaviour.requests[-1]["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}

    behaviour.reply = json.dumps({"name": "Ada"})  # misses a required field
    with pytest.raises(LlmBadOutput) as caught:
        await complete(llm, MESSAGES, max_tokens=50, json_schema=schema)
    assert caught.value.extra["problems"] == ["$: missing age"]


async def test_stop_sequences_are_sent(llm: OpenAICompatLLM, behaviour: Behaviour) -> None:
    events = llm.stream(MESSAGES, max_tokens=10, stop=["\n\n"])
    await collect(events)
    assert behaviour.requests[-1]["stop"] == ["\n\n"]


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_are_unavailable(
    llm: OpenAICompatLLM, behaviour: Behaviour, status: int
) -> None:
    behaviour.status = status
    with pytest.raises(LlmUnavailable) as caught:
        await collect(llm.stream(MESSAGES, max_tokens=10))
    assert caught.value.extra["retry_after"] == 7  # the server's Retry-After is kept


async def test_a_refused_request_is_bad_output_not_unavailable(
    llm: OpenAICompatLLM, behaviour: Behaviour
) -> None:
    behaviour.status = 400
    with pytest.raises(LlmBadOutput):
        await collect(llm.stream(MESSAGES, max_tokens=10))


async def test_server_down_is_unavailable() -> None:
    backend = open_llm(settings(f"http://127.0.0.1:{free_port()}/v1"))
    try:
        with pytest.raises(LlmUnavailable, match="cannot be reached"):
            await collect(backend.stream(MESSAGES, max_tokens=10))
    finally:
        await backend.aclose()


async def test_slow_server_times_out_as_unavailable(
    server: RunningServer, behaviour: Behaviour
) -> None:
    behaviour.first_byte_delay_s = 3.0
    backend = open_llm(settings(server.base_url, llm_timeout_s=0.5))
    t0 = time.monotonic()
    try:
        with pytest.raises(LlmUnavailable, match="in time"):
            await collect(backend.stream(MESSAGES, max_tokens=10))
    finally:
        await backend.aclose()
    assert time.monotonic() - t0 < 2.5  # no retries behind the caller's back


async def test_a_stall_mid_stream_times_out(server: RunningServer, behaviour: Behaviour) -> None:
    behaviour.chunk_delay_s = 2.0
    backend = open_llm(settings(server.base_url, llm_timeout_s=0.5))
    try:
        with pytest.raises(LlmUnavailable):
            await collect(backend.stream(MESSAGES, max_tokens=10))
    finally:
        await backend.aclose()


async def test_leaving_the_stream_closes_the_request(
    llm: OpenAICompatLLM, behaviour: Behaviour
) -> None:
    behaviour.reply = " ".join(f"w{i}" for i in range(200))
    behaviour.chunk_delay_s = 0.02
    got = []
    async with aclosing(llm.stream(MESSAGES, max_tokens=500)) as events:
        async for event in events:
            got.append(event)
            if len(got) == 3:
                break
    await _until(lambda: behaviour.disconnected == 1, about=behaviour)
    assert behaviour.completed == 0


async def test_cancelling_the_task_closes_the_request(
    llm: OpenAICompatLLM, behaviour: Behaviour
) -> None:
    behaviour.reply = " ".join(f"w{i}" for i in range(200))
    behaviour.chunk_delay_s = 0.02
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in llm.stream(MESSAGES, max_tokens=500):
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until(lambda: behaviour.disconnected == 1, about=behaviour)
    assert behaviour.completed == 0


def test_missing_model_fails_fast() -> None:
    with pytest.raises(ValueError, match="VOXHUB_LLM_MODEL"):
        open_llm(LlmSettings(llm_backend="openai", llm_model=None))


async def _until(condition: object, timeout: float = 5.0, about: object = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"condition not met in time: {about}"
        await asyncio.sleep(0.02)
