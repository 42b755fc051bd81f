"""Seed 000 (the Echo backend) through the real app on SQLite and PostgreSQL, with the seed's own
request examples: Examples 1-3 end to end (upload, synthesize, Echo, link, list), a video's
audio track, the Echo's messages answered by the real `openai` client against the loopback
server, ownership (another user's objects answer the seed's 404), and every refusal in the
seed's `{"error": ...}` shape with nothing stored."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Iterator
from fractions import Fraction
from typing import Any

import av
import httpx
import numpy as np
import pytest

from tests.api.conftest import Account, client_for, counts, make_user, speech_file
from tests.llm.chat_server import Behaviour, RunningServer, serve
from voxhub.accounts.models import Role
from voxhub.audio.decode import decode
from voxhub.container import Container
from voxhub.llm.openai_compat import OpenAICompatLLM
from voxhub.settings import LimitSettings, LlmSettings

RECORD_KEYS = [
    "_id",
    "user_id",
    "model_id",
    "name",
    "audio_file_path",
    "file_type",
    "echo_id",
    "created_at",
]
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MODEL_MISSING = {"error": "Voice model not found"}
ECHO_MISSING = {"error": "Echo not found"}
USER_MISSING = {"error": "User not found"}


async def upload(
    client: httpx.AsyncClient,
    file: tuple[str, bytes] | None = None,
    status: int = 200,
    **fields: str,
) -> dict[str, Any]:
    """`curl -F "audio=@my_voice.mp3" -F "name=..." -F "user_id=..."`, as the seed sends it."""
    name, data = file or speech_file()
    r = await client.post("/api/upload-reference", files={"audio": (name, data)}, data=fields)
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def mp4(seconds_of_speech: bool = True) -> bytes:
    """An MP4 with a small video stream and, unless told otherwise, real speech as its sound."""
    samples = decode(speech_file()[1], LimitSettings(), 24_000).samples
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        sound = out.add_stream("aac", rate=24_000, layout="mono") if seconds_of_speech else None
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        if sound is not None:
            frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 24_000, 0, Fraction(1, 24_000)
            for packet in [*sound.encode(frame), *sound.encode(None)]:
                out.mux(packet)
        for i in range(int(len(samples) / 24_000 * 10)):
            vframe = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 9 % 256, np.uint8))
            vframe.pts, vframe.time_base = i, Fraction(1, 10)
            for packet in video.encode(vframe):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
    return buf.getvalue()


def duration_of(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as f:
        frames = list(f.decode(audio=0))
    return sum(fr.samples for fr in frames) / frames[0].sample_rate


async def test_example_1_upload_then_synthesize(client: httpx.AsyncClient, user_a: Account) -> None:
    body = await upload(client, name="My Custom Voice", user_id=user_a.id)
    assert list(body) == ["success", "model_id", "reference_id", "message", "database_record"]
    assert body["success"] is True
    assert body["model_id"] == body["reference_id"]
    assert body["message"] == "Reference audio uploaded successfully and saved to database"
    rec = body["database_record"]
    assert list(rec) == RECORD_KEYS
    assert rec["_id"] == rec["model_id"] == body["model_id"]
    assert rec["user_id"] == user_a.id
    assert rec["name"] == "My Custom Voice"
    assert rec["audio_file_path"] == "vctk_p225_003.wav"
    assert rec["file_type"] == "audio" and rec["echo_id"] is None
    assert STAMP.match(rec["created_at"]), rec["created_at"]

    r = await client.post(
        "/api/synthesize",
        headers={"Content-Type": "application/json"},
        content=b'{\n    "text": "Hello! This is my custom voice.",\n    "reference_id": "'
        + body["model_id"].encode()
        + b'"\n  }',
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/mpeg"
    assert duration_of(r.content) > 0.5
    r = await client.post(
        "/api/synthesize",
        json={"text": "Hello again.", "reference_id": body["model_id"], "format": "wav"},
    )
    assert r.headers["content-type"] == "audio/wav" and duration_of(r.content) > 0.3


async def test_without_user_id_the_answer_has_no_record(client: httpx.AsyncClient) -> None:
    body = await upload(client, name="My Voice")
    assert list(body) == ["success", "model_id", "reference_id", "message"]
    assert body["message"] == "Reference audio uploaded successfully"
    # The voice is kept all the same: it is the only way reference_id can be spoken with.
    r = await client.get(f"/api/voice-models/{body['model_id']}")
    assert r.status_code == 200 and r.json()["voice_model"]["name"] == "My Voice"


async def test_example_2_echo_linked_to_its_voice_model(
    client: httpx.AsyncClient, user_a: Account
) -> None:
    model_id = (await upload(client, name="My Custom Voice", user_id=user_a.id))["model_id"]
    r = await client.post(
        "/api/echo",
        json={
            "user_id": user_a.id,
            "name": "My Echo",
            "persona_prompt": "You are a helpful assistant.",
            "voice_model_id": model_id,
        },
    )
    assert r.status_code == 201, r.text
    echo = r.json()["echo"]
    assert echo["name"] == "My Echo" and echo["voice_model_id"] == model_id
    assert echo["persona_prompt"] == "You are a helpful assistant."
    echo_id = echo["_id"]

    other = (await upload(client, file=speech_file("vctk_p227_003.wav")))["model_id"]
    r = await client.patch(f"/api/voice-models/{other}", json={"echo_id": echo_id})
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True and r.json()["voice_model"]["echo_id"] == echo_id

    r = await client.get(f"/api/echo/{echo_id}/voice-model")
    assert r.status_code == 200
    assert list(r.json()) == ["voice_model"]
    assert r.json()["voice_model"]["model_id"] == other
    assert r.json()["voice_model"]["echo_id"] == echo_id
    got = (await client.get(f"/api/voice-models/{other}")).json()["voice_model"]
    assert got["echo_id"] == echo_id
    assert (await client.get(f"/api/voice-models/{model_id}")).json()["voice_model"][
        "echo_id"
    ] is None

    # An upload naming the Echo links it in the same request.
    third = await upload(client, name="Echo's Voice", user_id=user_a.id, echo_id=echo_id)
    assert third["database_record"]["echo_id"] == echo_id
    r = await client.get(f"/api/echo/{echo_id}/voice-model")
    assert r.json()["voice_model"]["model_id"] == third["model_id"]


async def test_example_3_a_users_voice_models_get_and_delete(
    client: httpx.AsyncClient, user_a: Account
) -> None:
    first = await upload(client, name="My Custom Voice", user_id=user_a.id)
    second = await upload(
        client, file=speech_file("vctk_p227_003.wav"), name="Another Voice", user_id=user_a.id
    )
    r = await client.get(f"/api/voice-models?user_id={user_a.id}")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["voice_models", "count"] and body["count"] == 2
    assert [m["model_id"] for m in body["voice_models"]] == [
        second["model_id"],
        first["model_id"],
    ]
    assert body["voice_models"][1] == first["database_record"]
    assert (await client.get("/api/voice-models")).json() == body  # yours by default

    r = await client.get(f"/api/voice-models/{first['model_id']}")
    assert r.json() == {"voice_model": first["database_record"]}
    r = await client.delete(f"/api/voice-models/{first['model_id']}")
    assert r.status_code == 200
    assert r.json() == {"success": True, "message": "Voice model deleted"}
    for method in ("GET", "DELETE"):
        r = await client.request(method, f"/api/voice-models/{first['model_id']}")
        assert r.status_code == 404 and r.json() == MODEL_MISSING
    r = await client.post(
        "/api/synthesize", json={"text": "Gone.", "reference_id": first["model_id"]}
    )
    assert r.status_code == 404 and r.json() == MODEL_MISSING
    assert (await client.get("/api/voice-models")).json()["count"] == 1


async def test_a_video_uploads_its_audio_track(client: httpx.AsyncClient, user_a: Account) -> None:
    body = await upload(
        client, file=("clip.mp4", mp4()), name="From video", user_id=user_a.id, file_type="video"
    )
    rec = body["database_record"]
    assert rec["file_type"] == "video" and rec["audio_file_path"] == "clip.mp4"
    r = await client.post(
        "/api/synthesize", json={"text": "Spoken from a video.", "reference_id": rec["model_id"]}
    )
    assert r.status_code == 200 and duration_of(r.content) > 0.5


async def test_another_users_objects_answer_the_seeds_404(
    client: httpx.AsyncClient,
    client_b: httpx.AsyncClient,
    container: Container,
    user_a: Account,
    user_b: Account,
) -> None:
    model_id = (await upload(client, name="Ana's", user_id=user_a.id))["model_id"]
    echo = await client.post("/api/echo", json={"name": "Ana's Echo", "voice_model_id": model_id})
    echo_id = echo.json()["echo"]["_id"]
    mine = (await upload(client_b, name="Bob's", user_id=user_b.id))["model_id"]
    before = await counts(container)

    for method, path, body, expected in [
        ("GET", f"/api/voice-models/{model_id}", None, MODEL_MISSING),
        ("DELETE", f"/api/voice-models/{model_id}", None, MODEL_MISSING),
        ("PATCH", f"/api/voice-models/{model_id}", {"echo_id": echo_id}, MODEL_MISSING),
        ("PATCH", f"/api/voice-models/{mine}", {"echo_id": echo_id}, ECHO_MISSING),
        ("GET", f"/api/voice-models?user_id={user_a.id}", None, USER_MISSING),
        ("GET", f"/api/echo/{echo_id}/voice-model", None, ECHO_MISSING),
        ("GET", f"/api/echo/{echo_id}/messages", None, ECHO_MISSING),
        ("POST", f"/api/echo/{echo_id}/messages", {"content": "hi"}, ECHO_MISSING),
        ("POST", "/api/synthesize", {"text": "Hi.", "reference_id": model_id}, MODEL_MISSING),
        ("POST", "/api/echo", {"name": "X", "voice_model_id": model_id}, MODEL_MISSING),
        (
            "POST",
            "/api/echo",
            {"user_id": user_a.id, "name": "X", "voice_model_id": mine},
            USER_MISSING,
        ),
        ("POST", f"/api/users/{user_a.id}", {"email": "ana@example.com"}, USER_MISSING),
    ]:
        r = await client_b.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json() == expected, (method, path)
    r = await client_b.post(
        "/api/upload-reference",
        files={"audio": speech_file()},
        data={"name": "Not mine", "user_id": user_a.id},
    )
    assert r.status_code == 404 and r.json() == USER_MISSING
    r = await client_b.post(
        "/api/upload-reference", files={"audio": speech_file()}, data={"echo_id": echo_id}
    )
    assert r.status_code == 404 and r.json() == ECHO_MISSING
    assert await counts(container) == before  # nothing was made
    assert (await client.get(f"/api/voice-models/{model_id}")).status_code == 200


async def test_an_admin_acts_for_the_user_it_names(
    container: Container, client: httpx.AsyncClient, user_a: Account
) -> None:
    admin = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        body = await upload(root, name="For Ana", user_id=user_a.id)
        assert body["database_record"]["user_id"] == user_a.id
        r = await root.get(f"/api/voice-models?user_id={user_a.id}")
        assert r.json()["count"] == 1
        r = await root.post(f"/api/users/{user_a.id}", json={"email": "ana@example.com"})
        assert r.status_code == 200 and r.json()["user"]["_id"] == user_a.id
        r = await root.get("/api/voice-models?user_id=507f1f77bcf86cd799439011")
        assert r.status_code == 404 and r.json() == USER_MISSING
    assert (await client.get("/api/voice-models")).json()["count"] == 1


async def test_users_route_answers_the_callers_own_record(
    client: httpx.AsyncClient, user_a: Account
) -> None:
    r = await client.post(
        f"/api/users/{user_a.id}",
        headers={"Content-Type": "application/json"},
        content=b'{"email": "ana@example.com"}',
    )
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert user["_id"] == user_a.id and user["email"] == "ana@example.com"
    assert STAMP.match(user["created_at"])
    r = await client.post(f"/api/users/{user_a.id}", json={"email": "test@example.com"})
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    # The seed's own example: no such voxhub user.
    r = await client.post("/api/users/test_user_123", json={"email": "test@example.com"})
    assert r.status_code == 404 and r.json() == USER_MISSING


async def test_bad_uploads_are_refused_in_the_seeds_shape(
    client: httpx.AsyncClient, container: Container
) -> None:
    before = await counts(container)
    wav = speech_file()
    cases: list[tuple[dict[str, Any], dict[str, str], int, str]] = [
        ({}, {"name": "No file"}, 400, "validation_error"),
        ({"audio": ("notes.mp3", b"just some text, not audio " * 40)}, {}, 415, ""),
        ({"audio": wav}, {"file_type": "picture"}, 400, "validation_error"),
        ({"audio": ("silent.mp4", mp4(seconds_of_speech=False))}, {}, 415, ""),
        ({"audio": ("short.wav", wav[1][:20_000])}, {}, 422, ""),
    ]
    for files, data, status, code in cases:
        r = await client.post("/api/upload-reference", files=files or None, data=data)
        assert r.status_code == status, (data, r.text)
        body = r.json()
        assert set(body) >= {"error", "code"} and body["error"], body
        assert not code or body["code"] == code
        assert files or "audio" in body["error"]  # which field is missing
    assert await counts(container) == before


async def test_an_oversized_file_is_413_and_the_rate_limit_429(
    client: httpx.AsyncClient, container: Container
) -> None:
    before = await counts(container)
    container.settings.limits.max_upload_bytes = 100_000  # under the body cap: the file's own
    r = await client.post("/api/upload-reference", files={"audio": speech_file()})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    assert r.json()["error"]
    for _ in range(container.settings.rate_limits.clone_per_minute):
        r = await client.post("/api/upload-reference", files={"audio": speech_file()})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert r.headers["retry-after"]
    assert await counts(container) == before


async def test_other_refusals_in_the_seeds_shape(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, container: Container
) -> None:
    model_id = (await upload(client, name="Kept"))["model_id"]
    before = await counts(container)
    for body, status in [
        ({"reference_id": model_id}, 400),
        ({"text": "", "reference_id": model_id}, 400),
        ({"text": "Hello!", "reference_id": "abc123xyz"}, 404),
    ]:
        r = await client.post("/api/synthesize", json=body)
        assert r.status_code == status and "error" in r.json(), r.text
    r = await client.post(
        "/api/synthesize", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
    r = await client.patch(f"/api/voice-models/{model_id}", json={})
    assert r.status_code == 400 and "echo_id" in r.json()["error"]
    r = await client.patch(
        f"/api/voice-models/{model_id}", json={"echo_id": "507f1f77bcf86cd799439012"}
    )
    assert r.status_code == 404 and r.json() == ECHO_MISSING
    r = await client.post(
        "/api/echo", json={"persona_prompt": "No name", "voice_model_id": model_id}
    )
    assert r.status_code == 400 and "name" in r.json()["error"]
    r = await client.get("/api/voice-models/abc123xyz")
    assert r.status_code == 404 and r.json() == MODEL_MISSING
    r = await client.get("/api/echo/507f1f77bcf86cd799439012/voice-model")
    assert r.status_code == 404 and r.json() == ECHO_MISSING
    r = await anon.get("/api/voice-models")
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert await counts(container) == before


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    yield from serve(Behaviour())


@pytest.fixture
async def with_llm(container: Container, server: RunningServer) -> AsyncIterator[Container]:
    vars(server.behaviour).update(vars(Behaviour()))
    container.settings.llm = LlmSettings(
        llm_backend="openai", llm_base_url=server.base_url, llm_model="loopback-1"
    )
    llm = container.llm = OpenAICompatLLM(container.settings.llm)
    await llm.load()
    yield container
    await llm.aclose()


async def test_an_echos_messages_are_a_conversation(
    with_llm: Container, client: httpx.AsyncClient, server: RunningServer, user_a: Account
) -> None:
    model_id = (await upload(client, name="My Custom Voice"))["model_id"]
    r = await client.post(
        "/api/echo",
        json={
            "user_id": user_a.id,
            "name": "My Echo",
            "persona_prompt": "You are a helpful assistant.",
            "voice_model_id": model_id,
        },
    )
    echo_id = r.json()["echo"]["_id"]
    r = await client.get(f"/api/echo/{echo_id}/messages")
    assert r.json() == {"messages": [], "count": 0}
    r = await client.post(f"/api/echo/{echo_id}/messages", json={"content": "Hello, Echo!"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["message"]["content"] == "Hello, Echo!" and body["message"]["role"] == "user"
    assert body["reply"]["role"] == "assistant"
    assert body["reply"]["content"] == "Hello there, I am the loopback model."
    sent = server.behaviour.requests[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "You are a helpful assistant."} or (
        "You are a helpful assistant." in sent[0]["content"]
    )

    with_llm.llm = None  # the model is gone: the message is kept, the answer says so
    r = await client.post(f"/api/echo/{echo_id}/messages", json={"content": "Still there?"})
    assert r.status_code == 503 and r.json()["code"] == "llm_unavailable"
    assert r.headers["retry-after"] and r.json()["message_id"]
    r = await client.get(f"/api/echo/{echo_id}/messages")
    listed = r.json()
    assert listed["count"] == 3
    assert [m["content"] for m in listed["messages"]] == [
        "Hello, Echo!",
        "Hello there, I am the loopback model.",
        "Still there?",
    ]
    assert {m["echo_id"] for m in listed["messages"]} == {echo_id}
    r = await client.post(f"/api/echo/{echo_id}/messages", json={"content": "   "})
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
