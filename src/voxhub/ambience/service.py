"""Ambience use cases: list the library, mix an uploaded recording with a bed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.ambience.beds import LIBRARY, check_bed_name
from voxhub.ambience.mixer import Bed, MixSettings, mix
from voxhub.ambience.schemas import BedList, BedRead
from voxhub.audio.decode import decode
from voxhub.audio.encode import FORMATS, encode, output_rate
from voxhub.audit import service as audit
from voxhub.container import Container
from voxhub.core.errors import BedChoice
from voxhub.core.ids import new_id
from voxhub.safety.marking import MIXED_COMMENT, note_output, output_tags
from voxhub.safety.watermark import Watermarker
from voxhub.settings import LimitSettings


@dataclass(frozen=True)
class Mixed:
    data: bytes
    duration_s: float
    mix_id: str  # in the file's tags and the response's headers
    speech_was_marked: bool  # the upload already carried voxhub's mark (not marked again)


def library() -> BedList:
    return BedList(
        items=[BedRead(name=b.name, description=b.description) for b in LIBRARY.values()]
    )


def choose_bed(name: str | None, upload: bytes | None) -> None:
    """Exactly one bed: a library name or an uploaded file; refused before any decoding."""
    if (name is None) == (upload is None):
        which = "both" if name is not None else "neither"
        raise BedChoice(f"give one of 'bed' (a library name) or 'bed_file' ({which} given)")
    if name is not None:
        check_bed_name(name)


async def mix_upload(
    c: Container,
    session: AsyncSession,
    speech: bytes,
    bed_name: str | None,
    bed_file: bytes | None,
    settings: MixSettings,
    fmt: str,
    p: Principal,
) -> Mixed:
    """The uploaded speech with the bed under it, marked and encoded as `fmt`. No audio is
    stored; the file's hash is (detection's lookup) and the mix is audited.

    Both files are decoded and capped like any voxhub upload (`voxhub.audio.decode`). The mix
    carries the watermark like everything voxhub emits: it says the file came out of voxhub,
    not that its voice was made by it (the tags say "mixed", not "generated"). Speech that
    already carries the mark (voxhub's own) is not marked again: the mix keeps its mark.
    """
    choose_bed(bed_name, bed_file)
    rate = c.settings.working_sample_rate
    output_rate(fmt, rate)  # an unknown format is refused before the work
    mix_id = new_id()
    mixed = await asyncio.to_thread(
        _mix_blocking,
        c.watermarker,
        c.settings.limits,
        rate,
        speech,
        (bed_name, bed_file),
        settings,
        fmt,
        mix_id,
    )
    media_type = FORMATS[fmt].media_type
    await note_output(
        session,
        mixed.data,
        kind="ambience",
        object_id=mix_id,
        owner_id=p.user_id,
        media_type=media_type,
    )
    audit.record(
        session,
        "ambience_mixed",
        actor_id=p.user_id,
        target_type="mix",
        target_id=mix_id,
        bed=bed_name,
        speech_was_marked=mixed.speech_was_marked,
        duration_s=round(mixed.duration_s, 3),
    )
    await session.commit()
    return mixed


def _mix_blocking(
    watermarker: Watermarker,
    limits: LimitSettings,
    rate: int,
    speech: bytes,
    bed_choice: tuple[str | None, bytes | None],
    settings: MixSettings,
    fmt: str,
    mix_id: str,
) -> Mixed:
    bed_name, bed_file = bed_choice
    voice = decode(speech, limits, rate).samples
    bed: Bed | np.ndarray = (
        Bed(bed_name) if bed_name is not None else decode(bed_file or b"", limits, rate).samples
    )
    already = watermarker.is_marked(voice, rate)
    out = mix(voice, rate, bed, settings)
    if not already:
        out = watermarker.apply(out, rate)
    tags = output_tags(mix_id, MIXED_COMMENT)
    return Mixed(encode(out, rate, fmt, None, tags), len(out) / rate, mix_id, already)
