"""A render's video made before outputs were marked leaves with a marked soundtrack: the
pictures copied packet for packet, the sound marked, tagged and noted (real speech, Perth)."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import container, fake_engine
from tests.conftest import SPEECH
from tests.safety.conftest import RATE, load_speech
from voxhub.container import Container
from voxhub.safety.legacy import ensure_marked_video
from voxhub.safety.marking import sha256_of
from voxhub.safety.models import MarkedOutput
from voxhub.safety.watermark import DETECT_THRESHOLD
from voxhub.video.compose import Shot, VideoSpec, compose

__all__ = ["container", "fake_engine"]  # fixtures (tests/api/conftest.py)

SMALL = VideoSpec(width=320, height=180, fps=10)


def soundtrack(data: bytes) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(data)) as src:
        stream = src.streams.audio[0]
        parts = [f.to_ndarray().reshape(stream.channels, -1)[0] for f in src.decode(stream)]
        return np.concatenate(parts).astype(np.float32), stream.rate


def picture_packets(data: bytes) -> list[bytes]:
    with av.open(io.BytesIO(data)) as src:
        return [bytes(p) for p in src.demux(src.streams.video[0]) if p.size]


@pytest.fixture
def old_video(tmp_path: Path) -> bytes:
    """A dialogue video as voxhub made them before marking: real speech, no mark, no tags."""
    speech = load_speech(SPEECH / "vctk_p225_003.wav", seconds=4.0)
    out = tmp_path / "old.mp4"
    compose(out, speech, RATE, [Shot(0.0, 4.0, None, "Ana")], [], background=None, spec=SMALL)
    return out.read_bytes()


async def test_an_old_video_leaves_marked_and_the_next_download_is_the_same_file(
    container: Container, old_video: bytes
) -> None:
    watermarker = container.watermarker
    before, rate = soundtrack(old_video)
    assert watermarker.detect(before, rate) < DETECT_THRESHOLD

    async with container.sessions() as session:
        marked = await ensure_marked_video(
            container, session, old_video, object_id="render-1", owner_id=None
        )
    after, after_rate = soundtrack(marked)
    assert after_rate == rate
    assert watermarker.detect(after, after_rate) >= DETECT_THRESHOLD
    # Same length of sound (AAC pads a frame at most), same pictures, the id in the tags.
    assert abs(after.size - before.size) <= 2048
    assert picture_packets(marked) == picture_packets(old_video)
    with av.open(io.BytesIO(marked)) as src:
        assert src.metadata["voxhub_generation_id"] == "render-1"

    async with container.sessions() as session:
        noted = await session.get(MarkedOutput, await _noted_id(session, marked))
        assert noted is not None and (noted.kind, noted.object_id) == ("render", "render-1")
        again = await ensure_marked_video(
            container, session, marked, object_id="render-1", owner_id=None
        )
    assert again == marked  # a marked file voxhub noted goes out as it is


async def _noted_id(session: AsyncSession, data: bytes) -> str | None:
    digest = await sha256_of(data)
    return await session.scalar(select(MarkedOutput.id).where(MarkedOutput.sha256 == digest))
