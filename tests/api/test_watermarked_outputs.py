"""Every output carries the watermark (RELIABILITY.md recipe 19) and /api/v1/detect answers
honestly about it (recipe 20), on real speech from the embedded engine.

SQLite only: what is measured is the audio, and each output is real synthesis (seconds).
"""

from __future__ import annotations

import base64
import json

import av
import librosa
import numpy as np
import pytest
from sqlalchemy import func, select

from tests.api.conftest import create_voice
from tests.api.embedded_helpers import container
from tests.api.renders_helpers import finished
from tests.conftest import SPEECH
from tests.media import tags_of
from tests.safety.conftest import gain_half, mp3_32k, mulaw_8k, noise_30db
from voxhub.audio.decode import decode
from voxhub.audio.encode import encode
from voxhub.audit.models import AuditEvent
from voxhub.safety.models import MarkedOutput
from voxhub.settings import LimitSettings

__all__ = ["container"]  # the fixture: the app over the embedded engine
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

LIMITS = LimitSettings()
RATE = 24_000
VOICES = ("vctk_p225_003.wav", "ljspeech_LJ001-0001.wav", "librispeech_1688-142285-0000.flac")
FORMATS = ("wav", "mp3", "opus", "flac", "aac", "pcm", "mulaw")
# Fifty different short sentences (about 1.5 s each: no cache hits, and quick to speak).
SENTENCES = [
    f"The {thing} by the {place}."
    for thing in ("parcel", "bicycle", "umbrella", "letter", "basket", "lantern", "ladder")
    for place in ("door", "gate", "window", "garden", "station", "bridge", "market", "shop")
][:50]


def samples_of(data: bytes, fmt: str) -> tuple[np.ndarray, int]:
    """What a client hears: raw PCM and mu-law have no header; both come at the engine's
    rate here, as no `sample_rate` is asked for."""
    if fmt == "pcm":
        return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0, RATE
    if fmt == "mulaw":
        ctx = av.CodecContext.create("pcm_mulaw", "r")
        ctx.sample_rate = RATE  # type: ignore[attr-defined]
        ctx.layout = "mono"  # type: ignore[attr-defined]
        frames = ctx.decode(av.Packet(data))  # type: ignore[attr-defined]
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
        return (pcm / 32768.0).astype(np.float32), RATE
    return decode(data, LIMITS, RATE).samples, RATE


@pytest.mark.timeout(900)  # fifty real syntheses: about 1.5 min on a quiet 2-core machine
async def test_fifty_outputs_across_voices_and_formats_are_all_marked(client, container) -> None:
    voices = [(await create_voice(client, f"V{i}", f))["id"] for i, f in enumerate(VOICES)]
    scores: dict[str, float] = {}
    for i, text in enumerate(SENTENCES):
        fmt = FORMATS[i % len(FORMATS)]
        body = {"voice_id": voices[i % len(voices)], "text": text, "format": fmt}
        r = await client.post("/api/v1/speech", json=body)
        assert r.status_code == 200, r.text
        gen_id = r.headers["x-voxhub-generation-id"]
        assert r.headers["x-voxhub-generated"] == "true"
        if fmt in ("mp3", "opus", "flac"):  # ID3 and Vorbis comments: a tag of its own
            assert tags_of(r.content)["voxhub_generation_id"] == gen_id, fmt
        elif fmt == "wav":  # RIFF INFO has a fixed set of fields: the id is in its comment
            assert f"voxhub_generation_id={gen_id}" in tags_of(r.content)["comment"]
        samples, rate = samples_of(r.content, fmt)
        scores[f"{i}:{fmt}"] = container.watermarker.detect(samples, rate)
    assert len(scores) == 50
    assert min(scores.values()) >= 0.5, sorted(scores.items(), key=lambda kv: kv[1])[:5]
    async with container.sessions() as session:
        noted = await session.scalar(select(func.count()).select_from(MarkedOutput))
    assert noted == 50  # every stored output's hash, for detection's exact lookup


async def test_streamed_and_cached_speech_is_marked(client, container) -> None:
    vid = (await create_voice(client))["id"]
    body = {"voice_id": vid, "text": SENTENCES[0] + " " + SENTENCES[1], "format": "mp3"}
    streamed = await client.post("/api/v1/speech", json=body | {"stream": True})
    assert streamed.status_code == 200
    assert streamed.headers["x-voxhub-generated"] == "true"
    samples, rate = samples_of(streamed.content, "mp3")
    assert container.watermarker.detect(samples, rate) >= 0.5
    # Chunks are marked one at a time: the stream's first second alone carries the mark.
    assert container.watermarker.detect(samples[:rate], rate) >= 0.5
    again = await client.post("/api/v1/speech", json=body | {"stream": True})
    assert again.headers["x-voxhub-cache"] == "hit"
    assert again.content == streamed.content  # the stored, marked stream


async def _detect(client, data: bytes, name: str = "clip.wav") -> dict:
    r = await client.post("/api/v1/detect", files={"file": (name, data)})
    assert r.status_code == 200, r.text
    return r.json()


async def test_detect_answers_after_transcodes_and_not_after_a_pitch_shift(
    client, client_b, container
) -> None:
    vid = (await create_voice(client))["id"]
    text = "The harbour lights came on one by one as the fishing boats returned."
    r = await client.post("/api/v1/speech", json={"voice_id": vid, "text": text, "format": "wav"})
    assert r.status_code == 200
    gen_id = r.headers["x-voxhub-generation-id"]

    exact = await _detect(client, r.content)
    assert exact["verdict"] == "generated_by_this_instance"
    assert exact["watermark"] is True and exact["generation_id"] == gen_id
    assert exact["kind"] == "speech"
    # Another user learns the file is from here, not whose generation it is.
    other = await _detect(client_b, r.content)
    assert other["verdict"] == "generated_by_this_instance" and other["generation_id"] is None

    x = decode(r.content, LIMITS, RATE).samples
    for name, transcode in {
        "mp3_32kbps": mp3_32k,
        "mulaw_8khz": mulaw_8k,
        "gain_x0.5": gain_half,
        "noise_30db_snr": noise_30db,
    }.items():
        y, rate = transcode(x, RATE)
        found = await _detect(client, encode(y, rate, "wav"))
        assert (found["watermark"], found["verdict"]) == (True, "watermark_found"), name
        assert found["generation_id"] is None, name
    ogg = await _detect(client, encode(x, RATE, "opus"), "clip.ogg")
    assert (ogg["watermark"], ogg["verdict"]) == (True, "watermark_found")

    shifted = librosa.effects.pitch_shift(x, sr=RATE, n_steps=1).astype(np.float32)
    gone = await _detect(client, encode(shifted, RATE, "wav"))
    assert (gone["watermark"], gone["verdict"]) == (False, "no_watermark_found")


async def test_detect_finds_no_mark_in_real_recordings(client) -> None:
    from tests.safety.conftest import speech_files

    for path in speech_files()[:10]:
        found = await _detect(client, path.read_bytes(), path.name)
        assert (found["watermark"], found["verdict"]) == (False, "no_watermark_found"), path.name


async def test_every_face_and_the_mix_send_marked_audio(client, container) -> None:
    vid = (await create_voice(client))["id"]
    text = "A quiet morning on the river."
    requests = {
        "openai": ("/v1/audio/speech", {"model": "tts-1", "voice": vid, "input": text}, "mp3"),
        "elevenlabs": (f"/v1/text-to-speech/{vid}", {"text": text}, "mp3"),
        "seed 002": (f"/voices/{vid}/synthesize", {"text": text, "format": "wav"}, "wav"),
        "seed 000": (
            "/api/synthesize",
            {"text": text, "reference_id": vid, "format": "wav"},
            "wav",
        ),
    }
    for face, (path, body, fmt) in requests.items():
        r = await client.post(path, json=body)
        assert r.status_code == 200, (face, r.text)
        assert r.headers["x-voxhub-generated"] == "true", face
        assert r.headers["x-voxhub-generation-id"], face
        samples, rate = samples_of(r.content, fmt)
        assert container.watermarker.detect(samples, rate) >= 0.5, face
    recording = (SPEECH / "ljspeech_LJ001-0001.wav").read_bytes()
    made = (await client.post(path, json=body)).content  # seed 000's answer again: voxhub's
    for name, upload in (("a person", recording), ("voxhub's speech", made)):
        mixed = await client.post(
            "/api/v1/mix", files={"audio": ("in.wav", upload)}, data={"bed": "rain"}
        )
        assert mixed.status_code == 200, mixed.text
        assert mixed.headers["x-voxhub-generated"] == "true"
        mix_id = mixed.headers["x-voxhub-generation-id"]
        comment = tags_of(mixed.content)["comment"]
        # "Mixed", not "AI-generated": the voice may be a person's.
        assert f"voxhub_generation_id={mix_id}" in comment and "Mixed with voxhub" in comment
        assert container.watermarker.detect(*samples_of(mixed.content, "wav")) >= 0.5, name
        found = await _detect(client, mixed.content)
        assert (found["verdict"], found["kind"]) == ("generated_by_this_instance", "ambience")
    async with container.sessions() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "ambience_mixed")
                .order_by(AuditEvent.created_at)
            )
        ).all()
    # The person's recording was marked in the mix; voxhub's speech was not marked again.
    assert [e.details["speech_was_marked"] for e in events] == [False, True]
    # The upload itself, a real recording, carries none.
    assert container.watermarker.detect(*samples_of(recording, "wav")) < 0.4


async def test_sse_streams_and_jobs_carry_the_mark(client, container) -> None:
    vid = (await create_voice(client))["id"]
    # OpenAI's server-sent events: each delta's base64 PCM, joined, is what a client plays.
    body = {
        "model": "tts-1",
        "voice": vid,
        "input": "The lanterns swayed in the wind.",
        "response_format": "pcm",
        "stream_format": "sse",
    }
    r = await client.post("/v1/audio/speech", json=body)
    assert r.status_code == 200 and r.headers["x-voxhub-generated"] == "true"
    deltas = [
        json.loads(line[len("data: ") :])
        for line in r.text.splitlines()
        if line.startswith("data: ")
    ]
    pcm = b"".join(
        base64.b64decode(d["audio"]) for d in deltas if d["type"] == "speech.audio.delta"
    )
    assert container.watermarker.detect(*samples_of(pcm, "pcm")) >= 0.5
    # ElevenLabs' streaming endpoint.
    r = await client.post(
        f"/v1/text-to-speech/{vid}/stream", json={"text": "A kettle whistled in the kitchen."}
    )
    assert r.status_code == 200 and r.headers["x-voxhub-generated"] == "true"
    assert container.watermarker.detect(*samples_of(r.content, "mp3")) >= 0.5
    # A job's speech, fetched from its result.
    speech = {"voice_id": vid, "text": "The train was late again today.", "async": True}
    r = await client.post("/api/v1/speech", json=speech)
    assert r.status_code == 202, r.text
    job = await finished(client, r.json()["id"])
    assert job["status"] == "succeeded", job
    audio = await client.get(job["result"]["audio_url"])
    assert audio.headers["x-voxhub-generated"] == "true"
    assert container.watermarker.detect(*samples_of(audio.content, "wav")) >= 0.5
