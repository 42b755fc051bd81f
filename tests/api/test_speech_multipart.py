"""`timings: true` with `Accept: multipart/mixed`: the audio as itself and its timings, read back
with the standard library's MIME parser, and the Accept negotiation that picks it."""

from __future__ import annotations

import email
import email.policy
import io
import json
from email.message import EmailMessage

import av
import httpx
import pytest

from tests.api.conftest import counts, create_voice
from voxhub.container import Container
from voxhub.core.errors import NotAcceptable
from voxhub.engines.fake import WORD_SECONDS
from voxhub.synthesis.multipart import JSON, MIXED, negotiate

TEXT = "Hello there. This is a test of the voice."


def parts_of(r: httpx.Response) -> list[EmailMessage]:
    head = f"Content-Type: {r.headers['content-type']}\r\n\r\n".encode()
    msg = email.message_from_bytes(head + r.content, policy=email.policy.HTTP)
    assert isinstance(msg, EmailMessage)
    assert msg.get_content_type() == MIXED and not msg.defects, msg.defects
    return list(msg.iter_parts())  # type: ignore[arg-type]


def decoded_seconds(data: bytes) -> tuple[str, float]:
    with av.open(io.BytesIO(data)) as f:
        stream = f.streams.audio[0]
        frames = sum(fr.samples for fr in f.decode(stream))
        return f.format.name, frames / stream.rate


async def speak_multipart(client: httpx.AsyncClient, vid: str) -> httpx.Response:
    r = await client.post(
        "/api/v1/speech",
        json={"voice_id": vid, "text": TEXT, "format": "mp3", "timings": True},
        headers={"Accept": "multipart/mixed"},
    )
    assert r.status_code == 200, r.text
    return r


async def test_multipart_is_the_audio_then_the_generations_timings(client) -> None:
    vid = (await create_voice(client))["id"]
    r = await speak_multipart(client, vid)
    gen_id = r.headers["x-voxhub-generation-id"]
    assert r.headers["x-voxhub-cache"] == "miss"
    assert r.headers["x-voxhub-generated"] == "true"
    assert r.headers["x-voxhub-engine"] == "fake/fake-1"
    assert r.headers["vary"] == "Accept"
    audio, timings = parts_of(r)

    assert audio.get_content_type() == "audio/mpeg"
    assert audio.get_content_disposition() == "attachment"
    assert audio.get_filename() == f"{gen_id}.mp3"
    data = audio.get_payload(decode=True)
    assert isinstance(data, bytes)
    assert data == (await client.get(f"/api/v1/generations/{gen_id}/audio")).content
    container_format, seconds = decoded_seconds(data)
    assert container_format == "mp3"
    assert seconds == pytest.approx(len(TEXT.split()) * WORD_SECONDS, abs=0.08)

    assert timings.get_content_type() == "application/json"
    assert timings.get_filename() == f"{gen_id}.timings.json"
    said = json.loads(timings.get_payload(decode=True))  # type: ignore[arg-type]
    stored = await client.get(f"/api/v1/generations/{gen_id}/timings")
    assert stored.status_code == 200, stored.text
    assert said == stored.json()
    assert [w["word"] for w in said["words"]] == TEXT.split()


async def test_a_cache_hit_answers_the_same_parts(client) -> None:
    vid = (await create_voice(client))["id"]
    first = await speak_multipart(client, vid)
    again = await speak_multipart(client, vid)
    assert again.headers["x-voxhub-cache"] == "hit"
    assert again.headers["x-voxhub-generation-id"] == first.headers["x-voxhub-generation-id"]
    got = [p.get_payload(decode=True) for p in parts_of(again)]
    assert got == [p.get_payload(decode=True) for p in parts_of(first)]


async def test_an_accept_that_allows_neither_is_406_before_any_work(
    client, container: Container
) -> None:
    vid = (await create_voice(client))["id"]
    before = await counts(container)
    for accept in ("audio/mpeg", "multipart/form-data", "application/json;q=0, multipart/*;q=0"):
        r = await client.post(
            "/api/v1/speech",
            json={"voice_id": vid, "text": TEXT, "timings": True},
            headers={"Accept": accept},
        )
        assert r.status_code == 406, (accept, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "not_acceptable"
        assert r.json()["available"] == [JSON, MIXED]
    assert await counts(container) == before  # nothing rendered, stored or recorded


async def test_without_timings_accept_is_not_read(client) -> None:
    vid = (await create_voice(client))["id"]
    r = await client.post(
        "/api/v1/speech",
        json={"voice_id": vid, "text": TEXT},
        headers={"Accept": "multipart/mixed"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"


@pytest.mark.parametrize(
    ("accept", "answer"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("application/*", JSON),
        ("multipart/mixed", MIXED),
        ("multipart/*", MIXED),
        ("Multipart/Mixed; q=0.9", MIXED),
        ("multipart/mixed, */*", MIXED),  # the exact type beats the wildcard at equal q
        ("multipart/mixed, application/json", JSON),  # both exact: the default
        ("application/json;q=0.5, multipart/mixed", MIXED),
        ("application/json;q=0, */*", MIXED),
        ("nonsense, multipart/mixed", MIXED),  # a token that is no media range is skipped
    ],
)
def test_negotiation(accept: str | None, answer: str) -> None:
    assert negotiate(accept) == answer


@pytest.mark.parametrize(
    "accept", ["audio/mpeg", "text/html", "nonsense", "*/*;q=0", "application/json;q=abc"]
)
def test_negotiation_refuses(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiate(accept)


async def test_openapi_documents_the_multipart_answer_and_406(client) -> None:
    op = (await client.get("/openapi.json")).json()["paths"]["/api/v1/speech"]["post"]
    content = op["responses"]["200"]["content"]
    assert set(content[MIXED]["schema"]["properties"]) == {"audio", "timings"}
    refused = op["responses"]["406"]
    assert "not_acceptable" in refused["description"]
    assert refused["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
