"""A finished render's files: the mix, the video, one line's take, and captions from its words."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.audio.encode import FORMATS, encode
from voxhub.container import Container
from voxhub.core.errors import NotFound
from voxhub.renders.models import LineTake, ScriptRender
from voxhub.renders.takes import take_samples
from voxhub.safety.marking import note_output_once, output_tags
from voxhub.storage.base import BlobNotFound
from voxhub.video.cues import cues_from_words, to_srt, to_vtt


class RenderFileNotFound(NotFound):
    code = "render_file_not_found"
    title = "Render file not found"


def _missing(render: ScriptRender, what: str) -> RenderFileNotFound:
    return RenderFileNotFound(
        f"render {render.id} has no {what} (it is not finished, or made none)", render_id=render.id
    )


async def _blob(c: Container, render: ScriptRender, key: str | None, what: str) -> bytes:
    if key is None:
        raise _missing(render, what)
    try:
        return await c.blobs.get(key)
    except BlobNotFound:
        raise _missing(render, what) from None


async def audio(c: Container, render: ScriptRender) -> tuple[bytes, str]:
    fmt = render.options.get("format", "wav")
    return await _blob(c, render, render.audio_key, "audio"), FORMATS[fmt].media_type


async def video(c: Container, render: ScriptRender) -> bytes:
    return await _blob(c, render, render.video_key, "video")


async def line_audio(
    c: Container, session: AsyncSession, render: ScriptRender, index: int
) -> tuple[bytes, str]:
    """One line's take as a marked WAV, and the take's id (what the file is tagged with).

    Takes are kept unmarked: they are the material the mix is made of, and the mix is marked
    once as a whole (marking twice would double the mark's energy in the speech). So the take
    is marked here, as it leaves, and its hash noted the first time it does (marking is
    deterministic, so each later download is the same file)."""
    entry = next((e for e in render.lines if e["index"] == index), None)
    take = await session.get(LineTake, entry["take_id"]) if entry else None
    if take is None:
        raise RenderFileNotFound(
            f"render {render.id} has no audio for line {index}", render_id=render.id, index=index
        )
    raw = await _blob(c, render, take.blob_key, f"audio for line {index}")
    data = await asyncio.to_thread(_marked_wav, c, raw, take.sample_rate, take.id)
    owner = render.owner_id
    kind = "take"
    if await note_output_once(
        session, data, kind=kind, object_id=take.id, owner_id=owner, media_type="audio/wav"
    ):
        await session.commit()
    return data, take.id


def _marked_wav(c: Container, raw: bytes, rate: int, take_id: str) -> bytes:
    samples = c.watermarker.apply(take_samples(raw), rate)
    return encode(samples, rate, "wav", rate, output_tags(take_id))


def captions(render: ScriptRender, fmt: str) -> str:
    if render.audio_key is None:
        raise _missing(render, "captions")
    cues = cues_from_words([(str(w), float(s), float(e)) for w, s, e in render.words])
    return to_srt(cues) if fmt == "srt" else to_vtt(cues)
