"""Background clips for videos: uploaded, checked, listed, named by seed 001's `backgroundVideo`.

An upload is probed before anything is stored (a video stream that decodes, within the length,
size and pixel caps); the blob is written before its row commits and removed if the commit
fails. A render with no background films over a generated one (voxhub.video.compose).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.container import Container
from voxhub.core.errors import Conflict, NotFound
from voxhub.core.ids import is_id, new_id
from voxhub.jobs.errors import PermanentJobError
from voxhub.renders.models import VideoBackground
from voxhub.storage import outbox
from voxhub.video.probe import probe_background

MAX_PER_USER = 50


class BackgroundNotFound(NotFound):
    code = "background_not_found"
    title = "Background not found"


class BackgroundNameTaken(Conflict):
    code = "background_name_taken"
    title = "Background name taken"


async def upload(c: Container, name: str, data: bytes, p: Principal) -> VideoBackground:
    limits = c.settings.limits
    info = await asyncio.to_thread(
        probe_background,
        data,
        max_seconds=limits.max_video_seconds,
        max_bytes=limits.max_upload_bytes,
        max_pixels=c.settings.renders.render_background_max_pixels,
    )
    row = VideoBackground(
        id=new_id(),
        owner_id=p.user_id,
        name=name,
        duration_s=round(info.duration_s, 3),
        width=info.width,
        height=info.height,
        size_bytes=len(data),
    )
    row.blob_key = f"backgrounds/{p.user_id}/{row.id}"
    async with c.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(VideoBackground)
            .where(VideoBackground.owner_id == p.user_id)
        )
        if (count or 0) >= MAX_PER_USER:
            raise Conflict(f"you have {count} backgrounds (at most {MAX_PER_USER}); delete some")
        await c.blobs.put(row.blob_key, data, "video/mp4")
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:
            await c.blobs.delete(row.blob_key)
            raise BackgroundNameTaken(
                f"you already have a background called {name!r}", name=name
            ) from None
        except BaseException:
            await c.blobs.delete(row.blob_key)
            raise
    return row


async def find(session: AsyncSession, ref: str, p: Principal) -> VideoBackground:
    """The caller's background by id or by name (seed 001 names it by its file name)."""
    clause = VideoBackground.name == ref
    if is_id(ref):
        clause = or_(clause, VideoBackground.id == ref)
    row = await session.scalar(
        select(VideoBackground).where(VideoBackground.owner_id == p.user_id, clause).limit(1)
    )
    if row is None:
        raise BackgroundNotFound(f"no background {ref!r}; upload it first", background=ref)
    return row


async def list_backgrounds(session: AsyncSession, p: Principal) -> Sequence[VideoBackground]:
    return (
        await session.scalars(
            select(VideoBackground)
            .where(VideoBackground.owner_id == p.user_id)
            .order_by(VideoBackground.created_at, VideoBackground.id)
        )
    ).all()


async def delete_background(c: Container, ref: str, p: Principal) -> None:
    async with c.sessions() as session:
        row = await find(session, ref, p)
        promise = outbox.enqueue(session, row.blob_key, "background deleted")
        await session.delete(row)
        await session.commit()
    await outbox.drain(c.sessions, c.blobs, [promise.id])


async def background_blob(c: Container, background_id: str, owner_id: str) -> bytes:
    """The clip a render films over (a render keeps its id; a deleted clip fails it)."""
    async with c.sessions() as session:
        row = await session.get(VideoBackground, background_id)
    if row is None or row.owner_id != owner_id:
        raise PermanentJobError("background_not_found", "the background clip was deleted")
    return await c.blobs.get(row.blob_key)
