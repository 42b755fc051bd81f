"""Ambience use cases: list the library, mix an uploaded recording with a bed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from voxhub.ambience.beds import LIBRARY, check_bed_name
from voxhub.ambience.mixer import Bed, MixSettings, mix
from voxhub.ambience.schemas import BedList, BedRead
from voxhub.audio.decode import decode
from voxhub.audio.encode import encode, output_rate
from voxhub.container import Container
from voxhub.core.errors import BedChoice
from voxhub.core.ids import new_id
from voxhub.safety.marking import output_tags
from voxhub.safety.watermark import Watermarker
from voxhub.settings import LimitSettings


@dataclass(frozen=True)
class Mixed:
    data: bytes
    duration_s: float
    mix_id: str  # in the file's tags and the response's headers


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
    speech: bytes,
    bed_name: str | None,
    bed_file: bytes | None,
    settings: MixSettings,
    fmt: str,
) -> Mixed:
    """The uploaded speech with the bed under it, marked and encoded as `fmt`. Nothing is
    stored.

    Both files are decoded and capped like any voxhub upload (`voxhub.audio.decode`). The mix
    carries the watermark like everything voxhub emits: it says the file came out of voxhub
    (here, with an uploaded voice), not that the voice was cloned.
    """
    choose_bed(bed_name, bed_file)
    rate = c.settings.working_sample_rate
    output_rate(fmt, rate)  # an unknown format is refused before the work
    mix_id = new_id()
    return await asyncio.to_thread(
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
    out = watermarker.apply(mix(voice, rate, bed, settings), rate)
    return Mixed(encode(out, rate, fmt, None, output_tags(mix_id)), len(out) / rate, mix_id)
