"""Spoken consent: challenges through the API, and `verify_spoken_consent` on real and
synthesized speech, on SQLite and PostgreSQL.

No person can be recorded here, so a consent recording that says a whole phrase (sentence,
statement, code) is synthesized by the embedded Kokoro engine; the word check is also run on
real recordings read against their own transcript and against another's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update

from tests.api.conftest import Account, client_for, make_settings, make_user
from tests.conftest import SPEECH, truncate_all
from tests.safety import spoken_helpers as spoken
from tests.safety.spoken_helpers import (
    CODE,
    INSTANCE,
    PHRASE,
    add_challenge,
    challenge_row,
)
from voxhub.accounts.models import Role
from voxhub.accounts.principal import Principal
from voxhub.api.errors import status_for
from voxhub.audio.reference import prepare_reference
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.audit.models import AuditEvent
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.core import errors
from voxhub.core.clock import utcnow
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.safety import errors as refused
from voxhub.safety import speaker_calibration as cal
from voxhub.safety.challenge_models import ConsentChallenge
from voxhub.safety.challenges import CHALLENGE_LIFETIME, consent_statement, phrase_text
from voxhub.safety.consent_words import says_code, word_error_rate
from voxhub.safety.phrases import SENTENCES
from voxhub.safety.spoken_consent import (
    SPEAKER_THRESHOLD,
    WER_THRESHOLD,
    SpokenConsent,
    use_phrase,
    verify_spoken_consent,
)

kokoro = spoken.kokoro  # the fixture, shared with the HTTP tests
# Real recordings with a transcript (../shared/data/speech/MANIFEST.tsv).
TRANSCRIBED = {c.path.name: c.transcript for c in cal.read_manifest(SPEECH) if c.transcript}
REAL_CONSENT = "ljspeech_LJ001-0005.wav"
OTHER_TEXT = "cmuarctic_clb_arctic_a0022.wav"


@pytest.fixture
async def container(
    tmp_path: Path, database_url: str, speaker_encoder: SpeakerEncoder
) -> AsyncIterator[Container]:
    settings = make_settings(tmp_path, database_url)
    settings.instance_name = INSTANCE
    c = await build_container(
        settings,
        engines=EngineRegistry({"fake": FakeEngine()}, "fake"),
        speaker=speaker_encoder,
        run_jobs=False,  # type: ignore[arg-type]
    )
    await truncate_all(database_url)
    yield c
    await close_container(c)


@pytest.fixture
async def ana(container: Container) -> Account:
    return await make_user(container, "ana@example.com")


def principal(user: Account) -> Principal:
    return Principal(user.id, Role.user, "test")


def reference_embedding(c: Container, data: bytes) -> np.ndarray:
    """The reference's embedding as the voice service makes it."""
    audio = prepare_reference(data, c.settings.limits, c.settings.working_sample_rate).audio
    return c.speaker.embed(audio.samples, audio.sample_rate)


async def verify(
    c: Container, user: Account, phrase_id: str | None, audio: bytes | None, ref: np.ndarray
) -> SpokenConsent:
    """Verify against one reference in a session of its own, mark the phrase used and commit,
    as a voice upload does."""
    async with c.sessions() as s:
        consent = await verify_spoken_consent(c, s, principal(user), phrase_id, audio, [ref])
        await use_phrase(c, s, principal(user), consent.phrase_id)
        await s.commit()
        return consent


async def refusals(c: Container) -> list[AuditEvent]:
    async with c.sessions() as s:
        rows = await s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "consent_refused")
            .order_by(AuditEvent.created_at)
        )
        return list(rows)


# -- challenges ------------------------------------------------------------------------------


def test_sentences_are_many_plain_and_distinct() -> None:
    assert len(SENTENCES) >= 50
    assert len(set(SENTENCES)) == len(SENTENCES)
    # The code must be the only number in a phrase.
    assert not [s for s in SENTENCES if any(ch.isdigit() for ch in s)]
    assert all(s.endswith((".", "?", "!")) and len(s.split()) >= 5 for s in SENTENCES)


async def test_challenge_is_issued_to_the_caller(container: Container, ana: Account) -> None:
    async with client_for(container, ana) as client:
        r = await client.post("/api/v1/consent/challenge")
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"phrase_id", "text", "code", "expires_at"}
    code = body["code"]
    assert len(code) == 4 and code.isdigit()
    sentence = next(s for s in SENTENCES if body["text"].startswith(s))
    assert body["text"] == phrase_text(sentence, INSTANCE, code)
    assert consent_statement(INSTANCE) in body["text"] and code in body["text"]
    row = await challenge_row(container, body["phrase_id"])
    assert row.user_id == ana.id and row.used_at is None and row.code == code
    assert row.expires_at - row.created_at == CHALLENGE_LIFETIME == timedelta(minutes=10)
    assert row.expires_at.isoformat().replace("+00:00", "Z")[:19] == body["expires_at"][:19]
    async with container.sessions() as s:
        issued = await s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "consent_challenge_issued",
                AuditEvent.target_id == body["phrase_id"],
                AuditEvent.actor_id == ana.id,
            )
        )
    assert issued == 1


async def test_each_challenge_is_new(container: Container, ana: Account) -> None:
    async with client_for(container, ana) as client:
        first = (await client.post("/api/v1/consent/challenge")).json()
        second = (await client.post("/api/v1/consent/challenge")).json()
    assert first["phrase_id"] != second["phrase_id"]


async def test_challenge_needs_credentials(container: Container) -> None:
    async with client_for(container, None) as client:
        r = await client.post("/api/v1/consent/challenge")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(ConsentChallenge)) == 0


# -- words and numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "heard",
    [
        "My code is 4271.",
        "my code is four two seven one",
        "My code is 4, 2, 7, 1.",
        "My code is forty-two seventy-one.",
        "MY CODE IS FORTY TWO, SEVENTY ONE!",
    ],
)
def test_a_code_read_as_digits_or_words_matches(heard: str) -> None:
    assert says_code(heard, "4271")
    assert word_error_rate("My code is 4271.", heard) == 0.0


@pytest.mark.parametrize(
    "heard", ["My code is 4217.", "my code is four two seven", "My code is 42710.", "No code."]
)
def test_another_code_does_not_match(heard: str) -> None:
    assert not says_code(heard, "4271")


def test_word_error_rate_counts_edits_per_phrase_word() -> None:
    # One substitution and one deletion over eight words of the phrase.
    assert (
        word_error_rate(
            "The kettle has just boiled, so let's have", "the kettle has boiled so lets hav"
        )
        == 2 / 8
    )


# -- refusals before the recording is listened to --------------------------------------------


@pytest.mark.parametrize(
    ("case", "error", "status"),
    [
        ("no phrase", refused.ConsentRequired, 422),
        ("no recording", refused.ConsentRequired, 422),
        ("unknown phrase", refused.ConsentPhraseNotFound, 404),
        ("another user's phrase", refused.ConsentPhraseNotFound, 404),
        ("expired", refused.ConsentPhraseExpired, 409),
        ("used", refused.ConsentPhraseUsed, 409),
    ],
)
async def test_refusals_are_audited_and_change_nothing(
    container: Container, ana: Account, case: str, error: type, status: int
) -> None:
    bob = await make_user(container, "bob@example.com")
    audio = (SPEECH / REAL_CONSENT).read_bytes()
    now = utcnow()
    rows: dict[str, object] = {}
    if case == "expired":
        rows["expires_at"] = now - timedelta(seconds=1)
    if case == "used":
        rows["used_at"] = now - timedelta(minutes=1)
    owner = bob if case == "another user's phrase" else ana
    phrase_id: str | None = await add_challenge(container, owner, PHRASE, CODE, **rows)
    before = await challenge_row(container, str(phrase_id))
    if case == "no phrase":
        phrase_id = None
    if case == "unknown phrase":
        phrase_id = "00000000-0000-4000-8000-000000000000"
    sent = None if case == "no recording" else audio
    with pytest.raises(error) as raised:
        await verify(container, ana, phrase_id, sent, np.ones(256, np.float32))
    assert status_for(raised.value) == status
    [event] = await refusals(container)
    assert event.outcome == "refused" and event.actor_id == ana.id
    assert event.details["reason"] == raised.value.code
    assert event.target_id == phrase_id
    after = await challenge_row(container, before.id)
    assert (after.used_at, after.expires_at) == (before.used_at, before.expires_at)


# -- the words, on real recordings -----------------------------------------------------------


async def test_real_recording_of_its_own_text_passes_the_words_but_needs_the_code(
    container: Container, ana: Account
) -> None:
    """The recording says its sentence and no code: the words pass, the code does not."""
    audio = (SPEECH / REAL_CONSENT).read_bytes()
    phrase_id = await add_challenge(container, ana, TRANSCRIBED[REAL_CONSENT], CODE)
    with pytest.raises(refused.ConsentMismatch) as raised:
        await verify(container, ana, phrase_id, audio, reference_embedding(container, audio))
    assert status_for(raised.value) == 422
    [event] = await refusals(container)
    assert event.details["reason"] == "wrong_code"
    assert event.details["word_error_rate"] <= WER_THRESHOLD
    assert event.details["code_matched"] is False
    assert (await challenge_row(container, phrase_id)).used_at is None


async def test_real_recording_of_another_text_is_a_mismatch(
    container: Container, ana: Account
) -> None:
    audio = (SPEECH / REAL_CONSENT).read_bytes()
    phrase_id = await add_challenge(container, ana, TRANSCRIBED[OTHER_TEXT], CODE)
    with pytest.raises(refused.ConsentMismatch):
        await verify(container, ana, phrase_id, audio, reference_embedding(container, audio))
    [event] = await refusals(container)
    assert event.details["reason"] == "wrong_words"
    assert event.details["word_error_rate"] > WER_THRESHOLD


async def test_undecodable_recording_is_refused_and_audited(
    container: Container, ana: Account
) -> None:
    phrase_id = await add_challenge(container, ana, PHRASE, CODE)
    with pytest.raises(errors.UnsupportedMediaType):
        await verify(container, ana, phrase_id, b"<html>not audio</html>", np.ones(256))
    [event] = await refusals(container)
    assert event.details["reason"] == "unsupported_media_type"


# -- the whole phrase, synthesized -----------------------------------------------------------


async def test_phrase_read_by_the_reference_speaker_is_consent(
    container: Container, ana: Account, kokoro: dict
) -> None:
    phrase_id = await add_challenge(container, ana, PHRASE, CODE)
    ref = reference_embedding(container, kokoro["reference"])
    consent = await verify(container, ana, phrase_id, kokoro["phrase"], ref)
    assert consent.phrase_id == phrase_id
    assert consent.code_matched
    assert consent.word_error_rate <= WER_THRESHOLD
    assert consent.speaker_similarity >= SPEAKER_THRESHOLD
    assert CODE in consent.transcript.replace(" ", "").replace(",", "")
    assert len(consent.audio_sha256) == 64
    assert (await challenge_row(container, phrase_id)).used_at is not None
    assert await refusals(container) == []
    # Single use: the same phrase again is refused.
    with pytest.raises(refused.ConsentPhraseUsed):
        await verify(container, ana, phrase_id, kokoro["phrase"], ref)


async def test_wrong_code_is_a_mismatch(container: Container, ana: Account, kokoro: dict) -> None:
    """The phrase said with 4271 against a challenge whose code is 5839: one word off."""
    phrase_id = await add_challenge(
        container, ana, phrase_text(SENTENCES[0], INSTANCE, "5839"), "5839"
    )
    ref = reference_embedding(container, kokoro["reference"])
    with pytest.raises(refused.ConsentMismatch):
        await verify(container, ana, phrase_id, kokoro["phrase"], ref)
    [event] = await refusals(container)
    assert event.details["reason"] == "wrong_code"
    assert event.details["word_error_rate"] <= WER_THRESHOLD
    assert (await challenge_row(container, phrase_id)).used_at is None


async def test_phrase_read_by_another_speaker_is_speaker_mismatch(
    container: Container, ana: Account, kokoro: dict
) -> None:
    phrase_id = await add_challenge(container, ana, PHRASE, CODE)
    ref = reference_embedding(container, kokoro["reference"])
    with pytest.raises(refused.SpeakerMismatch) as raised:
        await verify(container, ana, phrase_id, kokoro["phrase_other_voice"], ref)
    assert status_for(raised.value) == 422
    [event] = await refusals(container)
    assert event.details["reason"] == "speaker_mismatch"
    assert event.details["code_matched"] is True
    assert event.details["speaker_similarity"] < SPEAKER_THRESHOLD
    assert (await challenge_row(container, phrase_id)).used_at is None


async def test_real_reference_of_another_person_is_speaker_mismatch(
    container: Container, ana: Account, kokoro: dict
) -> None:
    phrase_id = await add_challenge(container, ana, PHRASE, CODE)
    ref = reference_embedding(container, (SPEECH / "vctk_p225_008.wav").read_bytes())
    with pytest.raises(refused.SpeakerMismatch):
        await verify(container, ana, phrase_id, kokoro["phrase"], ref)


async def test_a_lost_race_for_one_phrase_is_409(
    container: Container, ana: Account, kokoro: dict
) -> None:
    """This upload's recording was verified while the phrase was unused, then another marked
    it used and committed: the conditional UPDATE finds nothing to mark, so only one voice
    gets the phrase."""
    phrase_id = await add_challenge(container, ana, PHRASE, CODE)
    ref = reference_embedding(container, kokoro["reference"])
    async with container.sessions() as late:
        consent = await verify_spoken_consent(
            container, late, principal(ana), phrase_id, kokoro["phrase"], [ref]
        )
        async with container.sessions() as first:
            await first.execute(
                update(ConsentChallenge)
                .where(ConsentChallenge.id == phrase_id)
                .values(used_at=utcnow())
            )
            await first.commit()
        with pytest.raises(refused.ConsentPhraseUsed):
            await use_phrase(container, late, principal(ana), consent.phrase_id)
    [event] = await refusals(container)
    assert event.details["reason"] == "consent_phrase_used"
