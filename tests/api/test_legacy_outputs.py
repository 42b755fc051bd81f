"""Audio stored before outputs were watermarked is marked as it leaves (voxhub.safety.legacy)."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from tests.api.conftest import create_voice
from tests.conftest import SPEECH
from tests.media import tags_of
from voxhub.audio.decode import decode
from voxhub.audio.encode import encode
from voxhub.container import Container
from voxhub.safety.models import MarkedOutput
from voxhub.synthesis.models import Generation

RATE = 24_000


async def _noted(c: Container) -> int:
    async with c.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(MarkedOutput)) or 0)


async def test_a_generation_stored_unmarked_is_marked_on_download(client, container) -> None:
    vid = (await create_voice(client))["id"]
    r = await client.post("/api/v1/speech", json={"voice_id": vid, "text": "Old times."})
    assert r.status_code == 200
    gen_id = r.headers["x-voxhub-generation-id"]
    # Make it what an instance upgraded from before marking holds: an unmarked file (a real
    # recording, so the detector can tell) and no hash noted.
    person = decode((SPEECH / "vctk_p225_003.wav").read_bytes(), container.settings.limits, RATE)
    old = encode(person.samples, RATE, "wav")
    assert container.watermarker.detect(person.samples, RATE) < 0.4
    async with container.sessions() as session:
        gen = await session.get(Generation, gen_id)
        assert gen is not None
        await container.blobs.put(gen.blob_key, old, "audio/wav")
        await session.execute(delete(MarkedOutput))
        await session.commit()

    first = await client.get(f"/api/v1/generations/{gen_id}/audio")
    assert first.status_code == 200 and first.headers["x-voxhub-generated"] == "true"
    heard = decode(first.content, container.settings.limits, RATE).samples
    assert container.watermarker.detect(heard, RATE) >= 0.5
    assert f"voxhub_generation_id={gen_id}" in tags_of(first.content)["comment"]
    assert await _noted(container) == 1
    again = await client.get(f"/api/v1/generations/{gen_id}/audio")
    assert again.content == first.content  # the same marked copy, noted once
    assert await _noted(container) == 1
    found = await client.post("/api/v1/detect", files={"file": ("old.wav", first.content)})
    assert found.json()["verdict"] == "generated_by_this_instance"
    assert found.json()["generation_id"] == gen_id
    assert await container.blobs.get(gen.blob_key) == old  # the stored file is left as it was
