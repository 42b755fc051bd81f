"""Scripts written by the LLM, through the real app on SQLite and PostgreSQL with the real
`openai` client against the tests' loopback server: the schema the model is given, the checks
on its answer, the retry that tells it what was wrong, the 502 and 503, and the credits."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from tests.api.conftest import Account
from tests.api.credits_helpers import assert_exact, balance
from tests.api.scripts_helpers import GOOD, answer, behaviour, cast, server, with_llm
from tests.llm.chat_server import Behaviour
from voxhub.container import Container
from voxhub.scripts.models import Script, ScriptLine

__all__ = ["behaviour", "server", "with_llm"]  # fixtures


async def stored(c: Container) -> tuple[int, int]:
    async with c.sessions() as s:
        scripts = await s.scalar(select(func.count()).select_from(Script)) or 0
        lines = await s.scalar(select(func.count()).select_from(ScriptLine)) or 0
    return scripts, lines


async def test_a_valid_dialogue_is_stored_and_the_schema_names_only_the_cast(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour, user_a: Account
) -> None:
    mara, jon = await cast(client)
    with_llm.settings.credits.price_llm_call = 2
    before = await balance(with_llm, user_a.id)
    behaviour.reply = json.dumps(
        {
            "title": "Night watch",
            "lines": [
                {"speaker": "Mara", "text": "The lamp is lit.", "emotion": "Happy"},
                {"speaker": "Jon", "text": "Good, the fog is coming.", "pause_ms": 400},
                {"speaker": "Mara", "text": "Then we keep watch.", "emotion": "angry"},
            ],
        }
    )
    body = {"character_ids": [mara["id"], jon["id"]], "prompt": "A foggy night.", "lines": 6}
    r = await client.post("/api/v1/scripts", json=body)
    assert r.status_code == 201, r.text
    script = r.json()
    assert script["title"] == "Night watch" and script["prompt"] == "A foggy night."
    assert script["character_ids"] == [mara["id"], jon["id"]]
    lines = script["lines"]
    assert [(ln["speaker"], ln["text"]) for ln in lines] == [
        (mara["id"], "The lamp is lit."),
        (jon["id"], "Good, the fog is coming."),
        (mara["id"], "Then we keep watch."),
    ]
    # The label as the image spells it; an emotion Mara has no image for is dropped.
    assert [ln["emotion"] for ln in lines] == ["happy", None, None]
    assert [ln["pause_ms"] for ln in lines] == [None, 400, None]
    assert len({ln["id"] for ln in lines}) == 3 and script["model"] == "loopback-1"
    assert (await client.get(f"/api/v1/scripts/{script['id']}")).json() == script

    [sent] = behaviour.requests
    fmt = sent["response_format"]
    assert fmt["type"] == "json_schema"
    schema = fmt["json_schema"]["schema"]
    line = schema["properties"]["lines"]["items"]
    assert line["properties"]["speaker"]["enum"] == ["Mara", "Jon"]
    assert line["properties"]["emotion"]["enum"] == ["happy", "sad"]
    assert schema["properties"]["lines"]["maxItems"] == 6
    assert line["properties"]["text"]["maxLength"] == 160  # what the token budget can hold
    # The instructions and cast are the system turn; the user's prompt only a user turn.
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert (
        "Mara" in sent["messages"][0]["content"] and "A keeper." in sent["messages"][0]["content"]
    )
    assert sent["messages"][1]["content"] == "A foggy night."
    assert await balance(with_llm, user_a.id) == before - 2
    await assert_exact(with_llm, user_a.id)


async def test_an_unknown_speaker_and_an_empty_line_are_fixed_by_the_retry(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    mara, jon = await cast(client)
    bad = answer(("Mara", "Hello."), ("Zed", "Who am I?"), ("Jon", "   "))
    behaviour.replies = [bad, GOOD]
    body = {"character_ids": [mara["id"], jon["id"]], "prompt": "Say hello."}
    r = await client.post("/api/v1/scripts", json=body)
    assert r.status_code == 201, r.text
    assert [ln["text"] for ln in r.json()["lines"]] == [
        "The lamp is lit tonight.",
        "Then the ships are safe.",
    ]
    first, retry = behaviour.requests
    assert retry["messages"][:2] == first["messages"]
    assert [m["role"] for m in retry["messages"]] == ["system", "user", "assistant", "user"]
    assert retry["messages"][2]["content"] == bad
    told = retry["messages"][3]["content"]
    assert "line 2: the speaker 'Zed' is not one of Mara, Jon" in told
    assert "line 3: the text is empty" in told


async def test_still_invalid_after_the_retry_is_502_with_nothing_stored_and_credits_back(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour, user_a: Account
) -> None:
    mara, jon = await cast(client)
    with_llm.settings.credits.price_llm_call = 3
    before = await balance(with_llm, user_a.id)
    behaviour.replies = [
        answer(("Zed", "Hi."), ("Jon", "Hello.")),
        answer(("Mara", "..."), ("Jon", "Hello.")),  # nothing speakable
    ]
    body = {"character_ids": [mara["id"], jon["id"]], "prompt": "Say hello."}
    r = await client.post("/api/v1/scripts", json=body)
    assert r.status_code == 502, r.text
    problem = r.json()
    assert problem["code"] == "llm_bad_output"
    assert "line 1: the text has nothing that can be spoken" in problem["problems"]
    assert len(behaviour.requests) == 2
    assert await stored(with_llm) == (0, 0)
    assert await balance(with_llm, user_a.id) == before
    await assert_exact(with_llm, user_a.id)


async def test_not_json_and_a_cut_off_answer_are_retried_too(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    mara, jon = await cast(client)
    behaviour.replies = ["Sure! Here is a dialogue:", '{"title": "x", "lines": [{']
    body = {"character_ids": [mara["id"], jon["id"]], "prompt": "Say hello."}
    r = await client.post("/api/v1/scripts", json=body)
    assert r.status_code == 502
    assert "the answer is not valid JSON" in r.json()["problems"]


async def test_a_model_that_cannot_answer_is_503_and_costs_nothing(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour, user_a: Account
) -> None:
    mara, jon = await cast(client)
    with_llm.settings.credits.price_llm_call = 1
    before = await balance(with_llm, user_a.id)
    behaviour.status = 503
    body = {"character_ids": [mara["id"], jon["id"]], "prompt": "Say hello."}
    r = await client.post("/api/v1/scripts", json=body)
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "llm_unavailable" and int(r.headers["retry-after"]) > 0
    assert await stored(with_llm) == (0, 0)
    assert await balance(with_llm, user_a.id) == before
    llm, with_llm.llm = with_llm.llm, None
    try:
        r = await client.post("/api/v1/scripts", json=body)
        assert r.status_code == 503 and "retry-after" in r.headers
    finally:
        with_llm.llm = llm


async def test_short_credits_are_402_before_the_model_is_asked(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour, user_a: Account
) -> None:
    mara, jon = await cast(client)
    with_llm.settings.credits.price_llm_call = 10**9
    body = {"character_ids": [mara["id"], jon["id"]], "prompt": "Say hello."}
    r = await client.post("/api/v1/scripts", json=body)
    assert r.status_code == 402 and r.json()["code"] == "insufficient_credits"
    assert behaviour.requests == []


async def test_the_selection_is_checked_before_anything_is_asked(
    with_llm: Container,
    client: httpx.AsyncClient,
    client_b: httpx.AsyncClient,
    behaviour: Behaviour,
) -> None:
    mara, jon = await cast(client)
    theirs, _ = await cast(client_b)  # private to user b
    url = "/api/v1/scripts"
    r = await client.post(url, json={"character_ids": [mara["id"], theirs["id"]], "prompt": "x"})
    assert r.status_code == 404 and r.json()["code"] == "character_not_found"
    for ids in ([mara["id"]], [mara["id"], mara["id"]], [mara["id"]] * 7):
        r = await client.post(url, json={"character_ids": ids, "prompt": "x"})
        assert r.status_code == 422, ids
    for prompt in ("", "   "):
        r = await client.post(
            url, json={"character_ids": [mara["id"], jon["id"]], "prompt": prompt}
        )
        assert r.status_code == 422
    for lines in (1, 41):
        body = {"character_ids": [mara["id"], jon["id"]], "prompt": "x", "lines": lines}
        assert (await client.post(url, json=body)).status_code == 422
    await client.delete(f"/api/v1/voices/{mara['voice_id']}")
    r = await client.post(url, json={"character_ids": [mara["id"], jon["id"]], "prompt": "x"})
    assert r.status_code == 422 and r.json()["code"] == "character_has_no_voice"
    assert behaviour.requests == []
    assert await stored(with_llm) == (0, 0)
