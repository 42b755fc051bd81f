"""GET /api/v1/consent/policy: what the instance's consent policy asks of a new voice, read at
request time, for anyone signed in (the web app asks it before it shows the upload form)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import client_for, make_user
from tests.safety.consent_helpers import consent_container
from voxhub.bootstrap import close_container
from voxhub.settings import ConsentSettings

POLICY = "/api/v1/consent/policy"


@pytest.mark.parametrize("policy", ["attestation", "spoken", "off"])
async def test_the_policy_is_told_to_a_signed_in_user(
    tmp_path: Path, speaker_encoder: object, policy: str
) -> None:
    c = await consent_container(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'v.db'}", speaker_encoder, policy
    )
    try:
        ana = await make_user(c, "ana@example.com", standing_consent=False)
        async with client_for(c, ana) as client:
            r = await client.get(POLICY)
        assert r.status_code == 200, r.text
        assert r.json() == {"policy": policy, "instance_name": "voxhub", "retention_days": 3650}
    finally:
        await close_container(c)


async def test_the_policy_is_read_when_asked_and_needs_credentials(
    tmp_path: Path, speaker_encoder: object
) -> None:
    c = await consent_container(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'v.db'}", speaker_encoder, "attestation"
    )
    try:
        ana = await make_user(c, "ana@example.com")
        async with client_for(c, ana) as client, client_for(c, None) as anon:
            assert (await client.get(POLICY)).json()["policy"] == "attestation"
            c.settings.consent = ConsentSettings(consent_policy="spoken", consent_retention_days=30)
            c.settings.instance_name = "Studio Nine"
            r = await client.get(POLICY)
            assert r.status_code == 200, r.text
            assert r.json() == {
                "policy": "spoken",
                "instance_name": "Studio Nine",
                "retention_days": 30,
            }
            refused = await anon.get(POLICY)
            assert refused.status_code == 401, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
    finally:
        await close_container(c)
