"""Spoken consent through POST /api/v1/voices under policy "spoken", on SQLite and PostgreSQL:
the consent row a voice keeps, refusals that store nothing, every reference checked against
the consenting speaker, and two uploads racing with one phrase.

The whole phrase is synthesized by the embedded Kokoro engine (tests/safety/spoken_helpers.py);
the two-speaker upload uses real recordings of ../shared/data/speech.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.conftest import Account, client_for, make_user, speech_file
from tests.conftest import SPEECH
from tests.safety import spoken_helpers as spoken
from tests.safety.consent_helpers import consent_container, consents, events, stored
from tests.safety.spoken_helpers import CODE, INSTANCE, PHRASE, add_challenge, challenge_row
from voxhub.bootstrap import close_container
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.engines.base import Reference, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.safety import speaker_calibration as cal
from voxhub.safety.challenges import phrase_text
from voxhub.safety.consent_words import normalise_words
from voxhub.safety.phrases import SENTENCES
from voxhub.safety.spoken_consent import SPEAKER_THRESHOLD, WER_THRESHOLD
from voxhub.voices.models import Voice

kokoro = spoken.kokoro  # the fixture

VOICES = "/api/v1/voices"
# A held enrolment that outlasts this was never released: the other upload never finished
# (it is stuck behind this one's lock). Not a timing assertion: the guard only turns a hang
# into a failure.
HOLD_GUARD_S = 30.0


class HeldEngine(FakeEngine):
    """The fake engine; once armed, the next enrolment waits until released, so that upload is
    still enrolling while another runs to its end."""

    def __init__(self) -> None:
        super().__init__(chunk_delay=0.0)
        self.armed = False
        self.release = asyncio.Event()

    async def enroll(self, reference: Reference) -> VoiceProfile:
        if self.armed:
            self.armed = False
            try:
                await asyncio.wait_for(self.release.wait(), HOLD_GUARD_S)
            except TimeoutError:
                raise RuntimeError("held enrolment never released") from None
        return await super().enroll(reference)


@pytest.fixture
def engine() -> HeldEngine:
    return HeldEngine()


@pytest.fixture
async def container(
    tmp_path: Path, database_url: str, speaker_encoder: object, engine: HeldEngine
) -> AsyncIterator[Container]:
    c = await consent_container(tmp_path, database_url, speaker_encoder, "spoken", engine)
    yield c
    await close_container(c)


@pytest.fixture
async def ana(container: Container) -> Account:
    return await make_user(container, "ana@example.com")


@pytest.fixture
async def client(container: Container, ana: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(container, ana) as c:
        yield c


async def post_voice(
    client: httpx.AsyncClient,
    references: list[tuple[str, bytes]],
    phrase_id: str,
    consent_audio: bytes,
) -> httpx.Response:
    files = [("files", ref) for ref in references]
    files.append(("consent_audio", ("consent.wav", consent_audio)))
    form = {"name": "Spoken", "consent": "self", "consent_phrase_id": phrase_id}
    return await client.post(VOICES, files=files, data=form)


async def voice_count(c: Container) -> int:
    async with c.sessions() as s:
        return await s.scalar(select(func.count()).select_from(Voice)) or 0


async def test_a_spoken_consent_is_kept_with_the_voice(
    container: Container, client: httpx.AsyncClient, ana: Account, kokoro: dict
) -> None:
    phrase_id = await add_challenge(container, ana, PHRASE, CODE)
    started = utcnow()
    r = await post_voice(client, [("ref.wav", kokoro["reference"])], phrase_id, kokoro["phrase"])
    assert r.status_code == 201, r.text
    voice_id = r.json()["id"]
    (row,) = await consents(container, voice_id)
    assert (row.kind, row.attestation, row.policy) == ("spoken", "self", "spoken")
    assert (row.user_id, row.phrase_id) == (ana.id, phrase_id)
    assert row.transcript is not None and CODE in normalise_words(row.transcript)
    assert row.word_error_rate is not None and row.word_error_rate <= WER_THRESHOLD
    assert row.speaker_similarity is not None and row.speaker_similarity >= SPEAKER_THRESHOLD
    assert row.consent_audio_sha256 == hashlib.sha256(kokoro["phrase"]).hexdigest()
    # The recording itself is kept, outside the voice's own blobs, so it outlives the voice.
    assert row.consent_audio_key == f"consents/{voice_id}/{row.id}"
    assert await container.blobs.get(row.consent_audio_key) == kokoro["phrase"]
    assert row.reference_sha256 == [hashlib.sha256(kokoro["reference"]).hexdigest()]
    assert row.ip == "127.0.0.1"  # httpx's ASGI transport's client address
    assert started <= row.created_at <= utcnow()
    used = (await challenge_row(container, phrase_id)).used_at
    assert used is not None and started <= used <= utcnow()
    recorded = [e for e in await events(container, "consent_recorded") if e.target_id == voice_id]
    assert [e.details["consent_id"] for e in recorded] == [row.id]
    assert await events(container, "consent_refused") == []


async def test_a_wrong_code_is_422_and_stores_nothing(
    container: Container, client: httpx.AsyncClient, ana: Account, kokoro: dict
) -> None:
    """The recording says 4271; this phrase's code is 5839."""
    phrase_id = await add_challenge(
        container, ana, phrase_text(SENTENCES[0], INSTANCE, "5839"), "5839"
    )
    before = await stored(container)
    r = await post_voice(client, [("ref.wav", kokoro["reference"])], phrase_id, kokoro["phrase"])
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "consent_mismatch"
    assert await stored(container) == before  # voice rows, blobs, consent rows
    assert (await challenge_row(container, phrase_id)).used_at is None
    (refused,) = await events(container, "consent_refused")
    assert refused.details["reason"] == "wrong_code"


async def test_every_reference_must_be_the_consenting_speaker(
    container: Container, client: httpx.AsyncClient, ana: Account
) -> None:
    """VCTK p225 reads the consent; the upload is another recording of p225 and one of p227.
    Their mean is close to p225 (cosine 0.85, over the threshold); p227's own is 0.60."""
    consent_file = "vctk_p225_003.wav"
    transcript = {x.path.name: x.transcript for x in cal.read_manifest(SPEECH)}[consent_file]
    # Its only number is its first word, "Six": that is the code it says.
    assert normalise_words(transcript).count("6") == 1
    phrase_id = await add_challenge(container, ana, transcript, "6")
    before = await stored(container)
    references = [speech_file("vctk_p225_008.wav"), speech_file("vctk_p227_005.wav")]
    r = await post_voice(client, references, phrase_id, speech_file(consent_file)[1])
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "speaker_mismatch"
    assert await stored(container) == before
    assert (await challenge_row(container, phrase_id)).used_at is None
    (refused,) = await events(container, "consent_refused")
    assert refused.details["code_matched"] is True
    assert refused.details["speaker_similarity"] < SPEAKER_THRESHOLD


async def test_two_uploads_with_one_phrase_make_one_voice(
    container: Container, client: httpx.AsyncClient, ana: Account, engine: HeldEngine, kokoro: dict
) -> None:
    """The first upload to enrol is held there until the other has finished: the phrase is
    not marked used (nor SQLite's write lock taken) before enrolment, so the other runs to
    its end; whichever commits second finds the phrase used."""
    phrase_id = await add_challenge(container, ana, PHRASE, CODE)
    engine.armed = True

    async def upload() -> httpx.Response:
        try:
            return await post_voice(
                client, [("ref.wav", kokoro["reference"])], phrase_id, kokoro["phrase"]
            )
        finally:
            engine.release.set()

    responses = await asyncio.gather(upload(), upload())
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    made = next(r for r in responses if r.status_code == 201).json()["id"]
    lost = next(r for r in responses if r.status_code == 409)
    assert lost.json()["code"] == "consent_phrase_used"
    assert await voice_count(container) == 1
    assert [row.voice_id for row in await consents(container)] == [made]
    (kept,) = await consents(container)
    blobs = await container.blobs.list("")
    assert blobs and all(
        key.startswith(f"voices/{made}/") for key in blobs if key != kept.consent_audio_key
    )
    # One recording kept, the winner's: the loser's was written and discarded with its work.
    assert [key for key in blobs if key.startswith("consents/")] == [f"consents/{made}/{kept.id}"]
    (refused,) = await events(container, "consent_refused")
    assert refused.details["reason"] == "consent_phrase_used"
