"""Was this file made here? The exact lookup of its hash, then the watermark detector.

The answer never says "human": a file without the mark may still be synthetic (made
elsewhere, or made here and then pitch-shifted, which removes Perth's mark: measured in
tests/safety/test_watermark_robustness.py).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.audio.decode import decode
from voxhub.audit import service as audit
from voxhub.container import Container
from voxhub.safety.marking import sha256_of
from voxhub.safety.models import MarkedOutput
from voxhub.safety.watermark import DETECT_THRESHOLD

Verdict = Literal["generated_by_this_instance", "watermark_found", "no_watermark_found"]


@dataclass(frozen=True)
class Detection:
    watermark: bool
    score: float
    verdict: Verdict
    sha256: str
    # What made it and its id, when the exact file is one this instance emitted: only for its
    # owner (or an admin): what someone made here, and which object it is, is theirs to know.
    kind: str | None = None
    generation_id: str | None = None


async def detect(c: Container, session: AsyncSession, data: bytes, p: Principal) -> Detection:
    """Score the file's watermark, look it up by hash, and audit that it was asked.

    Scored first (seconds for a long file), so no database connection is held meanwhile."""
    score = await asyncio.to_thread(_score, c, data)
    digest = await sha256_of(data)
    row = await session.scalar(
        select(MarkedOutput).where(MarkedOutput.sha256 == digest).order_by(MarkedOutput.id).limit(1)
    )
    marked = score >= DETECT_THRESHOLD
    verdict: Verdict = (
        "generated_by_this_instance"
        if row is not None
        else "watermark_found"
        if marked
        else "no_watermark_found"
    )
    shown = row is not None and p.may_change(row.owner_id)
    found = Detection(
        watermark=marked,
        score=round(score, 4),
        verdict=verdict,
        sha256=digest,
        kind=row.kind if shown and row is not None else None,
        generation_id=row.object_id if shown and row is not None else None,
    )
    audit.record(
        session,
        "watermark_detected",
        actor_id=p.user_id,
        target_type=row.kind if row is not None else None,
        target_id=row.object_id if row is not None else None,
        verdict=verdict,
        score=found.score,
        sha256=digest,
    )
    await session.commit()
    return found


def _score(c: Container, data: bytes) -> float:
    """Decoded (and capped) like any upload, at the detector's own rate."""
    rate = c.watermarker.model_rate
    audio = decode(data, c.settings.limits, rate)
    score = c.watermarker.detect(audio.samples, rate)
    return score if math.isfinite(score) else 0.0
