"""POST /api/v1/detect: was this audio made by this instance, or does it carry the mark?"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, ConfigDict

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.forms import FormRoute
from voxhub.safety.detection import detect

router = APIRouter(prefix="/api/v1", tags=["safety"], route_class=FormRoute)

LIMITS = """
What removes the mark (measured on voxhub's own output; the detector then answers
`no_watermark_found`):
- a pitch shift of one semitone or more;
- re-synthesis: another TTS or voice-conversion model speaking the same words;
- anything that rebuilds the audio below 2 kHz, where the mark lives.

What it survives (measured): MP3 at 32 kb/s, Opus, 8 kHz mu-law, resampling, gain changes,
white noise at 30 dB SNR, and excerpts of one second.

`no_watermark_found` never means "human": a file without the mark may be synthetic all the
same, made elsewhere or changed after it left voxhub. `generated_by_this_instance` means the
exact file (byte for byte) is one this instance emitted.
"""


class DetectionRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    watermark: bool
    score: float
    verdict: Literal["generated_by_this_instance", "watermark_found", "no_watermark_found"]
    sha256: str
    kind: str | None = None
    generation_id: str | None = None


@router.post("/detect", response_model=DetectionRead, description=LIMITS)
async def detect_audio(
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="The audio (or video) to check")],
) -> DetectionRead:
    """Check a file for voxhub's watermark (and whether this instance made it)."""
    found = await detect(c, session, await file.read(), p)
    return DetectionRead(
        watermark=found.watermark,
        score=found.score,
        verdict=found.verdict,
        sha256=found.sha256,
        kind=found.kind,
        generation_id=found.generation_id,
    )
