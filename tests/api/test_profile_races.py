"""Profile writers that race: the profile made from the newest references is the one kept."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import select

from tests.api.conftest import counts, create_voice, speech_file
from voxhub.container import Container
from voxhub.engines.base import Reference, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.voices.models import VoiceProfileRow


class HoldingFake(FakeEngine):
    """The fake engine; with `hold_next`, the next enrolment waits until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_next = False
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def enroll(self, reference: Reference) -> VoiceProfile:
        if self.hold_next:
            self.hold_next = False
            self.entered.set()
            await self.release.wait()
        return await super().enroll(reference)


@pytest.fixture
def fake_engine() -> HoldingFake:
    return HoldingFake()


async def stored_profile(c: Container, voice_id: str) -> tuple[VoiceProfileRow, bytes]:
    async with c.sessions() as session:
        row = await session.scalar(
            select(VoiceProfileRow).where(VoiceProfileRow.voice_id == voice_id)
        )
    assert row is not None
    return row, await c.blobs.get(row.blob_key)


async def add_reference(client, voice_id: str, file: str):  # type: ignore[no-untyped-def]
    fname, data = speech_file(file)
    return await client.post(
        f"/api/v1/voices/{voice_id}/references",
        files={"file": (fname, data)},
        data={"consent": "self"},
    )


async def test_of_two_references_added_at_once_the_one_made_without_the_other_is_refused(
    client, container: Container, fake_engine: HoldingFake
) -> None:
    v = await create_voice(client)
    fake_engine.hold_next = True
    slow = asyncio.create_task(add_reference(client, v["id"], "vctk_p225_008.wav"))
    async with asyncio.timeout(30):
        await fake_engine.entered.wait()
    fast = await add_reference(client, v["id"], "vctk_p227_003.wav")
    assert fast.status_code == 201, fast.text
    _, after_fast = await stored_profile(container, v["id"])
    fake_engine.release.set()
    refused = await slow
    assert refused.status_code == 409 and refused.json()["code"] == "conflict"
    voice = (await client.get(f"/api/v1/voices/{v['id']}")).json()
    assert [r["filename"] for r in voice["references"]] == [
        "vctk_p225_003.wav",
        "vctk_p227_003.wav",
    ]
    _, served = await stored_profile(container, v["id"])
    assert served == after_fast
    # Nothing of the refused upload stays: two references and one profile, rows and blobs.
    assert await counts(container) == (4, 3)


async def test_a_profile_rebuilt_for_a_new_engine_version_keeps_a_newer_one_stored_meanwhile(
    client, container: Container, fake_engine: HoldingFake
) -> None:
    v = await create_voice(client)
    fake_engine.info = dataclasses.replace(fake_engine.info, version="fake-2")
    fake_engine.hold_next = True
    body = {"voice_id": v["id"], "text": "Hello there."}
    speech = asyncio.create_task(client.post("/api/v1/speech", json=body))
    async with asyncio.timeout(30):
        await fake_engine.entered.wait()  # the rebuild, from the one reference it read
    added = await add_reference(client, v["id"], "vctk_p225_008.wav")
    assert added.status_code == 201, added.text
    row, newer = await stored_profile(container, v["id"])
    assert row.engine_version == "fake-2"
    fake_engine.release.set()
    assert (await speech).status_code == 200
    row, served = await stored_profile(container, v["id"])
    assert served == newer and row.revision == 2
    assert await container.blobs.list(f"voices/{v['id']}/profiles/") == [row.blob_key]
