"""Shared pieces of the credit tests: an engine that can be told to fail, a container with
chosen prices, and ledger readers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.api.conftest import make_settings
from tests.conftest import truncate_all
from voxhub.accounts.models import User
from voxhub.bootstrap import build_container
from voxhub.container import Container
from voxhub.core.errors import EngineFailure
from voxhub.credits.models import CreditEntry
from voxhub.engines.base import AudioChunk, SynthesisParams, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.settings import CreditSettings, RateLimitSettings


class BreakableEngine(FakeEngine):
    """The fake engine, which fails mid-synthesis (after its first chunk) while `broken`."""

    def __init__(self, chunk_delay: float = 0.0) -> None:
        super().__init__(chunk_delay=chunk_delay)
        self.broken = False

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        first = True
        async for chunk in super().synthesize(text, voice, params):
            if self.broken and not first:
                raise EngineFailure("the engine broke (test)")
            first = False
            yield chunk
        if self.broken:
            raise EngineFailure("the engine broke (test)")


async def priced_container(
    tmp_path: Path,
    database_url: str,
    speaker: object,
    engine: FakeEngine,
    prices: CreditSettings,
    *,
    run_jobs: bool = True,
) -> Container:
    """A container as tests/api/conftest.py builds it, with these prices and rate limits high
    enough for bursts of concurrent requests."""
    limits: dict[str, Any] = {
        "VOXHUB_RATE_LIMIT_TTS_PER_MINUTE": 10_000,
        "VOXHUB_RATE_LIMIT_DEFAULT_PER_MINUTE": 100_000,
        "VOXHUB_RATE_LIMIT_CLONE_PER_MINUTE": 10_000,
    }
    settings = make_settings(tmp_path, database_url).model_copy(
        update={"credits": prices, "rate_limits": RateLimitSettings.model_validate(limits)}
    )
    c = await build_container(
        settings,
        engines=EngineRegistry({"fake": engine}, "fake"),
        speaker=speaker,  # type: ignore[arg-type]
        run_jobs=False,
    )
    await truncate_all(database_url)
    if run_jobs:
        await c.jobs.start()
    return c


async def balance(c: Container, user_id: str) -> int:
    async with c.sessions() as s:
        value = await s.scalar(select(User.credits).where(User.id == user_id))
    assert value is not None
    return value


async def ledger_sum(c: Container, user_id: str) -> int:
    async with c.sessions() as s:
        total = await s.scalar(
            select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
                CreditEntry.user_id == user_id
            )
        )
    return int(total or 0)


async def entries(c: Container, user_id: str) -> list[CreditEntry]:
    async with c.sessions() as s:
        rows = await s.scalars(
            select(CreditEntry)
            .where(CreditEntry.user_id == user_id)
            .order_by(CreditEntry.created_at, CreditEntry.id)
        )
        return list(rows)


async def assert_exact(c: Container, *user_ids: str) -> None:
    """Every balance equals the sum of its ledger entries."""
    for uid in user_ids:
        assert await balance(c, uid) == await ledger_sum(c, uid), uid
