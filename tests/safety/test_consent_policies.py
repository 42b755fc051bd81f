"""The consent policies: what the schema requires under each, "off" and its loopback-only rule,
and the gate's part of "spoken" (the phrase itself is tested by test_spoken_consent.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import client_for, make_user
from tests.safety.consent_helpers import (
    consent_container,
    consents,
    events,
    stored,
    upload,
    xi_upload,
)
from voxhub import cli
from voxhub.accounts.models import Role
from voxhub.accounts.principal import Principal
from voxhub.accounts.secrets import InsecureConfiguration
from voxhub.app import create_app
from voxhub.bootstrap import close_container
from voxhub.safety import consent
from voxhub.safety.consent_models import VoiceConsent
from voxhub.safety.errors import StandingConsentRequired
from voxhub.settings import ConsentSettings, Settings


def _body_schema(doc: dict, path: str) -> dict:
    ref = doc["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
    return doc["components"]["schemas"][ref["schema"]["$ref"].rsplit("/", 1)[-1]]


UPLOADS = ("/api/v1/voices", "/api/v1/voices/{voice_id}/references")


@pytest.mark.parametrize("policy", ["attestation", "off"])
async def test_the_schema_requires_consent_where_the_policy_does(
    tmp_path: Path, database_url: str, speaker_encoder: object, policy: str
) -> None:
    c = await consent_container(tmp_path, database_url, speaker_encoder, policy)
    try:
        async with client_for(c, None) as anon:
            doc = (await anon.get("/openapi.json")).json()
    finally:
        await close_container(c)
    for path in UPLOADS:
        schema = _body_schema(doc, path)
        assert ("consent" in schema.get("required", [])) is (policy == "attestation")
        consent = schema["properties"]["consent"]
        enum = consent["enum"] if policy == "attestation" else consent["anyOf"][0]["enum"]
        assert enum == ["self", "written_permission"]


async def test_policy_off_asks_nothing(
    tmp_path: Path, database_url: str, speaker_encoder: object
) -> None:
    c = await consent_container(tmp_path, database_url, speaker_encoder, "off")
    try:
        user = await make_user(c, "solo@example.com", standing_consent=False)
        async with client_for(c, user) as client:
            r = await upload(client, name="Mine")
            assert r.status_code == 201, r.text
            assert (await xi_upload(client)).status_code == 200
            attested = await upload(client, name="Attested anyway", consent="self")
            assert attested.status_code == 201
        (row,) = await consents(c)
        assert (row.voice_id, row.policy) == (attested.json()["id"], "off")
        assert await events(c, "consent_refused") == []
    finally:
        await close_container(c)


async def test_policy_spoken_wants_the_phrase_and_refuses_standing_faces(
    tmp_path: Path, database_url: str, speaker_encoder: object
) -> None:
    # Only the gate's part: the phrase, the recording and their checks are tested by the
    # spoken-consent tests (tests/safety/test_spoken_consent.py).
    c = await consent_container(tmp_path, database_url, speaker_encoder, "spoken")
    try:
        user = await make_user(c, "speaker@example.com")  # with a standing attestation
        async with client_for(c, user) as client:
            before = await stored(c)
            r = await upload(client, name="No phrase", consent="self")
            assert r.status_code == 422 and r.json()["code"] == "consent_required", r.text
            r = await xi_upload(client)
            assert r.status_code == 403 and r.json()["detail"]["status"] == "consent_required"
            assert "spoken consent" in r.json()["detail"]["message"]
            assert await stored(c) == before
            doc = (await client.get("/openapi.json")).json()
        for path in UPLOADS:
            required = set(_body_schema(doc, path)["required"])
            assert {"consent", "consent_phrase_id", "consent_audio"} <= required
    finally:
        await close_container(c)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20"])
def test_policy_off_refuses_to_serve_beyond_loopback(tmp_path: Path, host: str) -> None:
    settings = Settings(env="test", home=tmp_path, host=host)
    settings.consent = ConsentSettings(consent_policy="off")
    with pytest.raises(InsecureConfiguration, match="VOXHUB_CONSENT_POLICY=off"):
        create_app(settings)
    settings.host = "127.0.0.1"
    create_app(settings)  # a private instance on this machine may


async def test_a_queued_clone_keeps_the_policy_its_request_was_checked_under(
    tmp_path: Path, database_url: str, speaker_encoder: object
) -> None:
    """The worker that runs a seed 004 clone may be configured apart from the API that
    queued it: the job is decided under the policy its request was accepted under."""
    c = await consent_container(tmp_path, database_url, speaker_encoder, "spoken")
    try:
        user = await make_user(c, "queued@example.com")  # with a standing attestation
        p = Principal(user.id, Role.user, "job")
        queued = await consent.admit(c, p, consent.QueuedClone("api_key", "attestation"), "v1")
        assert isinstance(queued.decision, VoiceConsent) and queued.decision.kind == "standing"
        # Queued before the policy was kept with the job: this process's policy decides.
        with pytest.raises(StandingConsentRequired):
            await consent.admit(c, p, consent.QueuedClone("api_key"), "v2")
    finally:
        await close_container(c)


def test_serve_hands_its_bind_address_to_the_settings_defaults() -> None:
    """`voxhub serve --host 0.0.0.0` is a public sign-up instance: spoken consent by default."""
    from typer.testing import CliRunner

    seen: list[Settings] = []
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("uvicorn.run", lambda app, **kw: None)
        mp.setattr("voxhub.app.create_app", lambda settings, role: seen.append(settings))
        result = runner.invoke(cli.app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    (settings,) = seen
    assert (settings.host, settings.consent.consent_policy) == ("0.0.0.0", "spoken")
