"""Audio stored before outputs were watermarked is marked as it leaves.

Every file voxhub stores since marking began has its hash in `marked_outputs` (its bytes are
what was noted). A stored file whose hash is not there is older than that: it is decoded,
marked, encoded again in its own format with its tags, and its hash noted, so the next
download finds it at once (marking is deterministic, so each copy is the same file). The
stored blob is left as it is: a download does not rewrite history. A render's video made before
marking gets its soundtrack marked the same way, its pictures copied, and that copy replaces
the stored video (see `ensure_marked_video`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import av
import numpy as np
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.audio.decode import decode, probe
from voxhub.audio.encode import FORMATS, encode
from voxhub.container import Container
from voxhub.renders.models import ScriptRender
from voxhub.safety.marking import note_output_once, output_tags, sha256_of
from voxhub.safety.models import MarkedOutput
from voxhub.safety.watermark import Watermarker
from voxhub.settings import LimitSettings
from voxhub.storage.outbox import drain, enqueue
from voxhub.synthesis.models import Generation
from voxhub.video.remark import with_new_soundtrack


async def ensure_marked(
    c: Container,
    session: AsyncSession,
    data: bytes,
    fmt: str,
    rate: int | None,
    *,
    kind: str,
    object_id: str,
    owner_id: str | None,
) -> bytes:
    """`data` when it is a marked file voxhub stored; else a marked copy (noted, committed).

    `rate` is the rate it was encoded at (required for raw PCM and mu-law, which carry none;
    None: what the file's header says)."""
    digest = await sha256_of(data)
    if await session.scalar(select(MarkedOutput.id).where(MarkedOutput.sha256 == digest)):
        return data
    limits = c.settings.limits
    marked = await asyncio.to_thread(_remarked, c.watermarker, limits, data, fmt, rate, object_id)
    media_type = FORMATS[fmt].media_type
    if await note_output_once(
        session, marked, kind=kind, object_id=object_id, owner_id=owner_id, media_type=media_type
    ):
        await session.commit()
    return marked


async def outgoing_audio(c: Container, session: AsyncSession, gen: Generation) -> bytes:
    """A generation's stored audio as it leaves: marked (a client's saved file is theirs)."""
    data = await c.blobs.get(gen.blob_key)
    if not gen.made_here:
        return data
    return await ensure_marked(
        c,
        session,
        data,
        gen.format,
        gen.sample_rate,
        kind="speech",
        object_id=gen.id,
        owner_id=gen.owner_id,
    )


def _remarked(
    watermarker: Watermarker,
    limits: LimitSettings,
    data: bytes,
    fmt: str,
    rate: int | None,
    object_id: str,
) -> bytes:
    samples, rate = _samples(limits, data, fmt, rate)
    marked = watermarker.apply(samples, rate)
    return encode(marked, rate, fmt, rate, output_tags(object_id))


def _samples(
    limits: LimitSettings, data: bytes, fmt: str, rate: int | None
) -> tuple[np.ndarray, int]:
    if fmt not in ("pcm", "mulaw"):
        rate = rate or probe(data, limits).sample_rate
        return decode(data, limits, rate).samples, rate
    if rate is None:
        raise ValueError(f"{fmt} has no header: its sample rate must be given")
    if fmt == "pcm":
        return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0, rate
    ctx: Any = av.CodecContext.create("pcm_mulaw", "r")
    ctx.sample_rate = rate
    ctx.layout = "mono"
    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in ctx.decode(av.Packet(data))])
    return (pcm / 32768.0).astype(np.float32), rate


async def ensure_marked_video(
    c: Container, session: AsyncSession, render: ScriptRender, data: bytes
) -> bytes:
    """A render's MP4 as it leaves: `data` when it is a marked file voxhub stored; else a copy
    whose soundtrack is marked (the pictures copied as they are).

    Unlike audio, the marked copy replaces the stored video (the old one promised for
    removal): re-marking a whole video costs seconds, and a player asks for it in ranges,
    request after request. The read transaction ends before that work, so it holds no
    connection's transaction open meanwhile."""
    digest = await sha256_of(data)
    if await session.scalar(select(MarkedOutput.id).where(MarkedOutput.sha256 == digest)):
        return data
    render_id, owner_id, old_key = render.id, render.owner_id, render.video_key
    # Ends the read transaction (a GET has written nothing); a commit, not a rollback, keeps
    # the loaded rows as they are (the session does not expire them on commit).
    await session.commit()
    marked = await asyncio.to_thread(
        with_new_soundtrack, data, c.watermarker.apply, output_tags(render_id)
    )
    if old_key is None:  # read after the render lost its video: nothing to replace
        return marked
    new_key = f"{old_key.removesuffix('.mp4')}.marked.mp4"
    await c.blobs.put(new_key, marked, "video/mp4")
    try:
        # Repointed only where no other download did it first (the same bytes either way).
        moved = await session.execute(
            update(ScriptRender)
            .where(ScriptRender.id == render_id, ScriptRender.video_key == old_key)
            .values(video_key=new_key)
            .execution_options(synchronize_session=False)
        )
        await note_output_once(
            session,
            marked,
            kind="render",
            object_id=render_id,
            owner_id=owner_id,
            media_type="video/mp4",
        )
        removal = (
            enqueue(session, old_key, "video_remarked") if getattr(moved, "rowcount", 0) else None
        )
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    if removal is not None:
        await drain(c.sessions, c.blobs, [removal.id])
    return marked
