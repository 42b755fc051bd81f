"""Nothing a client sends stalls the event loop, and the text limits count what will be spoken."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.conftest import Account, create_voice, speech_file
from voxhub.container import Container
from voxhub.credits import ledger
from voxhub.jobs.models import Job
from voxhub.synthesis import text_checks

# ---- the limits count spoken characters --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("7" * 5000, 29_999),  # "seven seven ..."
        ("1% " * 1666, 19_991),  # "one percent one percent ..."
        ("a & " * 1250, 7_499),  # "a and a and ..."
        ("$1 " * 1666, 18_325),  # "one dollar one dollar ..."
    ],
)
async def test_a_text_that_expands_past_the_limit_is_413_with_both_numbers(
    client: httpx.AsyncClient, container: Container, text: str, spoken: int
) -> None:
    assert len(text) <= container.settings.limits.max_text_chars
    v = await create_voice(client)
    r = await client.post("/api/v1/speech", json={"voice_id": v["id"], "text": text})
    assert r.status_code == 413, r.text
    problem = r.json()
    assert problem["code"] == "text_too_long"
    assert (problem["length"], problem["sent"], problem["limit"]) == (spoken, len(text), 5000)
    assert f"{spoken} characters when spoken ({len(text)} sent)" in problem["detail"]
    assert "the limit is 5000" in problem["detail"]


async def test_a_job_that_expands_past_the_job_limit_is_413_and_queues_nothing(
    client: httpx.AsyncClient, container: Container
) -> None:
    v = await create_voice(client)
    text = "7" * 20_000
    body = {"voice_id": v["id"], "text": text, "async": True}
    r = await client.post("/api/v1/speech", json=body)
    assert r.status_code == 413, r.text
    problem = r.json()
    assert problem["code"] == "text_too_long"
    assert (problem["length"], problem["sent"], problem["limit"]) == (119_999, 20_000, 100_000)
    assert "119999 characters when spoken (20000 sent)" in problem["detail"]
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == 0


async def test_symbols_that_say_nothing_do_not_count(client: httpx.AsyncClient) -> None:
    v = await create_voice(client)
    text = "Hello there. " + "*" * 5000  # read as "Hello there."
    r = await client.post("/api/v1/speech", json={"voice_id": v["id"], "text": text})
    assert r.status_code == 200, r.text


# ---- planning and large bodies off the loop ----------------------------------------------------


async def test_requests_check_their_text_off_the_event_loop(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked_on: list[int] = []
    check = text_checks.check_text

    def recording_check(*args: Any) -> str:
        checked_on.append(threading.get_ident())
        return check(*args)

    monkeypatch.setattr(text_checks, "check_text", recording_check)
    v = await create_voice(client)
    body = {"voice_id": v["id"], "text": "Hello there."}
    assert (await client.post("/api/v1/speech", json=body)).status_code == 200
    assert (await client.post("/api/v1/speech", json=body | {"async": True})).status_code == 202
    await asyncio.wait_for(container.jobs.wait_idle(), 60)
    assert len(checked_on) == 3  # the request, the job's request, the job's run
    assert threading.get_ident() not in checked_on


def _recording(fn: Callable[..., Any], calls: list[int]) -> Callable[..., Any]:
    """`fn`, noting the thread of every call on more than 64 KiB."""

    def wrapper(data: Any, *args: Any, **kwargs: Any) -> Any:
        if len(data) > 64 * 1024:
            calls.append(threading.get_ident())
        return fn(data, *args, **kwargs)

    return wrapper


async def test_seed004_parses_and_decodes_a_large_body_off_the_event_loop(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, audio = speech_file()
    body = json.dumps({"name": "Ana", "audio_data": base64.b64encode(audio).decode()})
    parsed_on: list[int] = []
    decoded_on: list[int] = []
    monkeypatch.setattr(json, "loads", _recording(json.loads, parsed_on))
    monkeypatch.setattr(base64, "b64decode", _recording(base64.b64decode, decoded_on))
    monkeypatch.setattr(binascii, "a2b_base64", _recording(binascii.a2b_base64, decoded_on))
    r = await client.post(
        "/api/voices/clone", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    assert parsed_on and decoded_on
    assert threading.get_ident() not in parsed_on + decoded_on


# A shape of each hostile class; before planning was made linear and moved off the loop, each
# of these held the loop for minutes, while it normalised the text or the job split it.
HOSTILE = [
    "Hello" + "!" * 90_000 + " there.",
    "Hello" + "?" * 90_000 + " there.",
    "Hello" + "." * 90_000 + " there.",
    "Hello" + "\u2026" * 90_000 + " there.",
    "Hello \"('" * 9_000 + "there",
    "Hello" + "\u1680" * 90_000 + "there.",
    "Hello " + "\U0001f600" * 90_000 + " there.",
    "1" + ",000" * 22_000 + "x%",
]


async def test_health_answers_while_hostile_texts_are_submitted(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, container: Container, user_a: Account
) -> None:
    container.limiter.enabled = False  # one busy client, as in `make bench`
    async with container.sessions() as s:  # 90,000 spoken characters cost 90 credits each
        await ledger.grant(s, user_a.id, 10_000, "test: long texts")
        await s.commit()
    v = await create_voice(client)
    waits: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        # Timed with the sleep: a loop held elsewhere shows as a sleep that overruns too.
        while not done.is_set():
            started = time.perf_counter()
            assert (await anon.get("/health")).status_code == 200
            await asyncio.sleep(0.02)
            waits.append(time.perf_counter() - started - 0.02)

    async def submit(text: str, run_async: bool) -> int:
        body = {"voice_id": v["id"], "text": text, "async": run_async}
        return (await client.post("/api/v1/speech", json=body)).status_code

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0.1)
    answers = await asyncio.gather(
        *(submit(text, run_async) for text in HOSTILE for run_async in (False, True))
    )
    await asyncio.wait_for(container.jobs.wait_idle(), 120)
    done.set()
    await prober
    assert set(answers) <= {200, 202, 413, 422}, answers
    assert waits and max(waits) < 3.0, f"/health waited up to {max(waits):.2f} s"


async def test_seed004_refuses_a_body_of_too_many_values_without_parsing_it(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each value costs json.loads about as much as its comma: 12 million took half a second,
    # one C call holding the GIL even off the loop.
    values = ",".join(["1"] * 300_000)  # more than any honest seed 004 body
    body = '{"name": "Ana", "audio_data": "UklGRg==", "more": [' + values + "]}"
    parsed_on: list[int] = []
    monkeypatch.setattr(json, "loads", _recording(json.loads, parsed_on))
    r = await client.post(
        "/api/voices/clone", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
    assert [e["type"] for e in r.json()["errors"]] == ["json_too_many_values"]
    assert parsed_on == []
