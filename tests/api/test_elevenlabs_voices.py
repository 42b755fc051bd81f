"""The ElevenLabs face's voices, driven by the official `elevenlabs` SDK, unchanged, against the
app served by uvicorn on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from elevenlabs import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.errors import UnprocessableEntityError

from tests.api.conftest import Account, counts, create_voice, speech_file
from voxhub.container import Container
from voxhub.engines.fake import WORD_SECONDS


@pytest.fixture
async def xi(
    live_url: str, user_a: Account, container: Container
) -> AsyncIterator[AsyncElevenLabs]:
    container.limiter.per_minute["clone"] = 1000
    async with httpx.AsyncClient(timeout=60) as http:
        yield AsyncElevenLabs(base_url=live_url, api_key=user_a.api_key, httpx_client=http)


async def test_clone_list_get_speak_delete(
    xi: AsyncElevenLabs, client_b: httpx.AsyncClient, container: Container
) -> None:
    public = await create_voice(client_b, "Bob")  # another's private voice: never listed
    added = await xi.voices.ivc.create(
        name="Ana",
        files=[speech_file("vctk_p225_003.wav"), speech_file("vctk_p225_008.wav")],
        description="Read clearly",
        labels={"accent": "Irish", "gender": "female", "language": "en"},
        remove_background_noise=True,
    )
    assert added.requires_verification is False
    voice = await xi.voices.get(added.voice_id)
    assert (voice.name, voice.description, voice.category) == ("Ana", "Read clearly", "cloned")
    assert voice.labels == {"accent": "irish", "gender": "female", "language": "en"}
    assert voice.is_owner is True
    listed = await xi.voices.get_all()
    assert [v.voice_id for v in listed.voices] == [added.voice_id]
    assert public["id"] not in {v.voice_id for v in listed.voices}
    # The new voice speaks at once, through the same face.
    pcm = b"".join(
        [
            c
            async for c in xi.text_to_speech.convert(
                added.voice_id, text="One two three.", output_format="pcm_24000"
            )
        ]
    )
    assert len(pcm) / 2 / 24000 == pytest.approx(3 * WORD_SECONDS, abs=0.02)
    # The preview is the voice's own sample route.
    assert (
        voice.preview_url is not None and f"/api/v1/voices/{voice.voice_id}/" in voice.preview_url
    )

    gone = await xi.voices.delete(added.voice_id)
    assert gone.status == "ok"
    with pytest.raises(ApiError) as missing:
        await xi.voices.get(added.voice_id)
    assert missing.value.status_code == 404
    assert missing.value.body["detail"]["status"] == "voice_not_found"
    with pytest.raises(ApiError) as again:
        await xi.voices.delete(added.voice_id)
    assert again.value.status_code == 404
    with pytest.raises(ApiError) as others:  # Bob's voice is not Ana's to see or delete
        await xi.voices.delete(public["id"])
    assert others.value.status_code == 404
    assert (await xi.voices.get_all()).voices == []


async def test_bad_uploads_are_refused_and_store_nothing(
    xi: AsyncElevenLabs, container: Container
) -> None:
    before = await counts(container)
    good = speech_file()
    with pytest.raises(ApiError) as undecodable:
        await xi.voices.ivc.create(name="Noise", files=[("x.wav", b"RIFF not audio at all")])
    assert undecodable.value.status_code == 415  # not audio at all
    assert undecodable.value.body["detail"]["status"] == "unsupported_media_type"
    assert isinstance(undecodable.value.body["detail"]["message"], str)
    with pytest.raises(UnprocessableEntityError) as labels:
        await xi.voices.ivc.create(name="Ana", files=[good], labels={"accent": 3})
    assert labels.value.body["detail"]["status"] == "invalid_input"
    with pytest.raises(UnprocessableEntityError):
        await xi.voices.ivc.create(name="", files=[good])
    with pytest.raises(UnprocessableEntityError):
        await xi.voices.ivc.create(name="Ana", files=[good], labels={"language": "not a code"})
    assert await counts(container) == before
