"""/api/v1/ambience (the bed library) and /api/v1/mix (speech + bed -> mixed audio)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.ambience import service
from voxhub.ambience.schemas import BedList, MixOptions
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.forms import FormRoute
from voxhub.api.validation import parse
from voxhub.audio.encode import FORMATS
from voxhub.safety.marking import generated_headers
from voxhub.security.deps import limited
from voxhub.synthesis.schemas import AudioFormat

router = APIRouter(tags=["ambience"], route_class=FormRoute)

MIX_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {spec.media_type: {} for spec in FORMATS.values()}, "description": "Audio"},
}


@router.get("/api/v1/ambience", response_model=BedList)
async def list_beds(_: CurrentPrincipal) -> BedList:
    """The ambience library: beds to mix under speech (`bed` in /api/v1/mix and speech)."""
    return service.library()


@router.post(
    "/api/v1/mix",
    response_class=Response,
    responses=MIX_RESPONSES,
    dependencies=[limited("tts")],
)
async def create_mix(
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    audio: Annotated[UploadFile, File(description="The speech (any audio voxhub decodes)")],
    bed: Annotated[str | None, Form(max_length=64, description="A library bed's name")] = None,
    bed_file: Annotated[
        UploadFile | None, File(description="Your own bed instead (looped to fit)")
    ] = None,
    bed_gain_db: Annotated[float, Form()] = MixOptions().bed_gain_db,
    duck_db: Annotated[float, Form()] = MixOptions().duck_db,
    attack_ms: Annotated[float, Form()] = MixOptions().attack_ms,
    release_ms: Annotated[float, Form()] = MixOptions().release_ms,
    fade_in_s: Annotated[float, Form()] = MixOptions().fade_in_s,
    fade_out_s: Annotated[float, Form()] = MixOptions().fade_out_s,
    format: Annotated[AudioFormat, Form()] = "wav",
) -> Response:
    """Mix speech with an ambience bed (ducked under the speech); answers the mixed audio.

    Nothing is stored. Give `bed` or `bed_file`, not both.
    """
    options = parse(
        MixOptions,
        bed_gain_db=bed_gain_db,
        duck_db=duck_db,
        attack_ms=attack_ms,
        release_ms=release_ms,
        fade_in_s=fade_in_s,
        fade_out_s=fade_out_s,
    )
    service.choose_bed(bed, b"" if bed_file is not None else None)  # before reading the files
    speech = await audio.read()
    upload = await bed_file.read() if bed_file is not None else None
    mixed = await service.mix_upload(c, session, speech, bed, upload, options.settings(), format, p)
    return Response(
        mixed.data,
        media_type=FORMATS[format].media_type,
        headers={"X-Voxhub-Duration": f"{mixed.duration_s:.3f}", "Cache-Control": "no-store"}
        | generated_headers(mixed.mix_id),
    )
