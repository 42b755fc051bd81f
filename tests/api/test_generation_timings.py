"""Word timings kept with every generation: the timings and captions routes, `timings: true`,
and timings that match the audio (the fake engine's exact word times, checked on the wav)."""

from __future__ import annotations

import asyncio
import base64
import io
import re
import wave
from itertools import pairwise

import httpx
import numpy as np

from tests.api.conftest import create_voice
from voxhub.container import Container
from voxhub.engines.fake import WORD_SECONDS
from voxhub.synthesis.timings import words_key

TEXT = "Hello there. This is a test of the voice."
WORDS = TEXT.split()
STAMP = r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d)"


def expected() -> list[tuple[str, float, float]]:
    # The fake engine: one tone of WORD_SECONDS a word, sentences back to back.
    return [(w, i * WORD_SECONDS, (i + 1) * WORD_SECONDS) for i, w in enumerate(WORDS)]


def samples_of(wav: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(wav)) as f:
        data = np.frombuffer(f.readframes(f.getnframes()), np.int16)
        return data.astype(np.float32) / 32768, f.getframerate()


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) if len(x) else 0.0


def as_tuples(words: list[dict]) -> list[tuple[str, float, float]]:
    return [(w["word"], w["start"], w["end"]) for w in words]


def assert_matches_fake(words: list[dict]) -> None:
    got = as_tuples(words)
    assert [w for w, _, _ in got] == WORDS
    for (_, s, e), (_, s0, e0) in zip(got, expected(), strict=True):
        assert abs(s - s0) < 0.002 and abs(e - e0) < 0.002


async def speak(client: httpx.AsyncClient, vid: str, **extra: object) -> httpx.Response:
    r = await client.post("/api/v1/speech", json={"voice_id": vid, "text": TEXT, **extra})
    assert r.status_code == 200, r.text
    return r


async def timings(client: httpx.AsyncClient, gen_id: str) -> dict:
    r = await client.get(f"/api/v1/generations/{gen_id}/timings")
    assert r.status_code == 200, r.text
    return r.json()


async def test_timings_match_the_audio(client) -> None:
    vid = (await create_voice(client))["id"]
    r = await speak(client, vid)
    got = await timings(client, r.headers["x-voxhub-generation-id"])
    assert_matches_fake(got["words"])
    audio, rate = samples_of(r.content)
    assert abs(got["duration_s"] - len(audio) / rate) < 0.01
    # Every word is sound in its middle; the audio between two words (where the engine's tones
    # fade out and in) is near silence, so the times sit on the audio, not beside it.
    edge = int(0.005 * rate)
    for word, start, end in as_tuples(got["words"]):
        a, b = int(start * rate), int(end * rate)
        inside = rms(audio[a + (b - a) // 4 : b - (b - a) // 4])
        assert inside > 0.05, word
        assert rms(audio[max(0, a - edge) : a + edge]) < 0.05 * inside, word
        assert rms(audio[b - edge : b + edge]) < 0.05 * inside, word
    # The characters of the recorded text, timed inside the words they belong to.
    chars = got["characters"]
    assert "".join(chars["characters"]) == TEXT
    assert chars["character_start_times_seconds"][0] == 0.0
    assert abs(chars["character_end_times_seconds"][-1] - got["duration_s"]) < 0.01


def parse_cues(text: str, vtt: bool) -> list[tuple[float, float, str]]:
    if vtt:
        assert text.startswith("WEBVTT")
        text = text.split("\n\n", 1)[1]
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        if not vtt:
            assert lines.pop(0).isdigit()
        m = re.fullmatch(f"{STAMP} --> {STAMP}", lines[0])
        assert m, lines[0]
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, m.groups())
        start = h1 * 3600 + m1 * 60 + s1 + ms1 / 1000
        end = h2 * 3600 + m2 * 60 + s2 + ms2 / 1000
        cues.append((start, end, " ".join(lines[1:])))
    return cues


async def test_captions_say_every_word_once_in_order(client) -> None:
    vid = (await create_voice(client))["id"]
    gen_id = (await speak(client, vid)).headers["x-voxhub-generation-id"]
    for fmt, media in (("srt", "application/x-subrip"), ("vtt", "text/vtt")):
        r = await client.get(f"/api/v1/generations/{gen_id}/captions.{fmt}")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith(media)
        cues = parse_cues(r.text, fmt == "vtt")
        assert " ".join(t for _, _, t in cues).split() == WORDS
        assert all(a < b for a, b, _ in cues)
        assert all(b <= c for (_, b, _), (c, _, _) in pairwise(cues))
        assert cues[0][0] == 0.0 and abs(cues[-1][1] - len(WORDS) * WORD_SECONDS) < 0.002


async def test_timings_true_answers_json_and_a_cache_hit_the_same(client) -> None:
    vid = (await create_voice(client))["id"]
    plain = await speak(client, vid)  # recorded with its words, though not asked for them
    r = await speak(client, vid, timings=True)
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-voxhub-cache"] == "hit"
    body = r.json()
    assert body["generation_id"] == plain.headers["x-voxhub-generation-id"]
    assert base64.b64decode(body["audio_base64"]) == plain.content
    assert (body["format"], body["sample_rate"]) == ("wav", 24000)
    assert_matches_fake(body["words"])
    again = (await speak(client, vid, timings=True)).json()
    assert again["words"] == body["words"]
    assert (await timings(client, body["generation_id"]))["words"] == body["words"]


async def test_streamed_and_queued_generations_keep_their_timings(
    client, container: Container
) -> None:
    vid = (await create_voice(client))["id"]
    streamed = await speak(client, vid, stream=True)
    assert_matches_fake(
        (await timings(client, streamed.headers["x-voxhub-generation-id"]))["words"]
    )
    queued = await client.post(
        "/api/v1/speech", json={"voice_id": vid, "text": TEXT, "async": True, "format": "mp3"}
    )
    assert queued.status_code == 202, queued.text
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    job = (await client.get(f"/api/v1/jobs/{queued.json()['id']}")).json()
    assert_matches_fake((await timings(client, job["result"]["generation_id"]))["words"])


async def test_a_generation_without_timings_is_404_and_rendered_afresh(
    client, container: Container
) -> None:
    vid = (await create_voice(client))["id"]
    first = await speak(client, vid)
    gen_id = first.headers["x-voxhub-generation-id"]
    gen = (await client.get(f"/api/v1/generations/{gen_id}")).json()
    # As a generation recorded before timings were kept: its audio, no words beside it.
    await container.blobs.delete(words_key(f"voices/{vid}/generations/{gen_id}.wav"))
    assert gen["format"] == "wav"
    for path in ("timings", "captions.srt", "captions.vtt"):
        r = await client.get(f"/api/v1/generations/{gen_id}/{path}")
        assert r.status_code == 404, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "timings_not_found"
    # An engine that times no words: said so, not answered with an empty list as if silent.
    untimed = b'{"words": [], "duration": 2.75}'
    await container.blobs.put(words_key(f"voices/{vid}/generations/{gen_id}.wav"), untimed)
    r = await client.get(f"/api/v1/generations/{gen_id}/timings")
    assert r.status_code == 404 and r.json()["code"] == "timings_not_found"
    await container.blobs.delete(words_key(f"voices/{vid}/generations/{gen_id}.wav"))
    # Asked with timings, the hit that lacks them is made again, with them.
    r = await speak(client, vid, timings=True)
    assert r.headers["x-voxhub-cache"] == "miss"
    assert_matches_fake(r.json()["words"])


async def test_another_user_gets_404(client, client_b) -> None:
    vid = (await create_voice(client))["id"]
    gen_id = (await speak(client, vid)).headers["x-voxhub-generation-id"]
    for path in ("timings", "captions.srt", "captions.vtt"):
        r = await client_b.get(f"/api/v1/generations/{gen_id}/{path}")
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "generation_not_found"
    r = await client.get(f"/api/v1/generations/{gen_id}/captions.txt")
    assert r.status_code == 422, r.text


async def test_timings_come_with_whole_speech_only(client, container: Container) -> None:
    vid = (await create_voice(client))["id"]
    blobs = len(await container.blobs.list())
    for extra in ({"stream": True}, {"async": True}):
        r = await client.post(
            "/api/v1/speech", json={"voice_id": vid, "text": TEXT, "timings": True, **extra}
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "validation_error"
    assert len(await container.blobs.list()) == blobs
    r = await client.get("/openapi.json")
    rule = r.json()["components"]["schemas"]["SpeechRequest"]["allOf"][1]
    assert rule["then"]["properties"]["stream"] == {"const": False}
