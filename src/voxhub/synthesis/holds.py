"""The credits a speech plan holds: reserved before any rendering, captured with the
generation's commit (`service.record`), given back when the audio is not delivered."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from voxhub.container import Container
from voxhub.credits import ledger
from voxhub.credits.pricing import speech_cost

if TYPE_CHECKING:
    from voxhub.synthesis.service import SpeechPlan

log = logging.getLogger(__name__)


async def reserve(c: Container, plan: SpeechPlan) -> None:
    """Hold what the plan costs, committed before any rendering, keyed by its generation id;
    InsufficientCredits (402) when the balance cannot cover it. Sets `plan.cost`."""
    cost = speech_cost(c.settings.credits, plan.spoken)
    if cost and plan.owner_id:
        await ledger.reserve(c.sessions, plan.owner_id, plan.generation_id, cost, "speech")
        plan.cost = cost


async def release(c: Container, plan: SpeechPlan) -> None:
    """Give the plan's hold back (rendering failed, the client went away). Shielded: it runs
    while the request is being cancelled. A hold this cannot release (the database is down)
    is released later by `voxhub.credits.stale.release_stale_holds` (the jobs sweep)."""
    if not (plan.cost and plan.owner_id):
        return
    with anyio.CancelScope(shield=True):
        try:
            await ledger.release_reserved(
                c.sessions, plan.owner_id, plan.generation_id, "speech not delivered"
            )
        except Exception:
            log.exception("could not release the hold of generation %s", plan.generation_id)


async def capture_delivered(c: Container, plan: SpeechPlan) -> None:
    """Capture the plan's hold on its own when the audio was delivered but `record` could not
    store it (a no-op when `record` captured it)."""
    if not (plan.cost and plan.owner_id):
        return
    with anyio.CancelScope(shield=True):
        try:
            async with c.sessions() as session:
                owner, gen_id = plan.owner_id, plan.generation_id
                if await ledger.capture_reserved(session, owner, gen_id, "speech"):
                    await session.commit()
        except Exception:
            log.exception("could not capture the hold of generation %s", plan.generation_id)
