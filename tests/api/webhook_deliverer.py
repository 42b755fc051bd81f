"""A separate deliverer process for the webhook tests: `python -m tests.api.webhook_deliverer`
connects to the database the environment names (VOXHUB_DATABASE_URL, VOXHUB_WEBHOOK_*), prints
"ready", waits for a line on stdin (so that several start delivering together), then runs
delivery passes until no row is pending and prints what it claimed and delivered."""

from __future__ import annotations

import asyncio
import json
import sys

from sqlalchemy import func, select

from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.settings import Settings
from voxhub.webhooks.delivery import deliver_due
from voxhub.webhooks.models import WebhookDelivery


async def main() -> None:
    settings = Settings()
    engine = create_engine(settings.resolved_database_url)
    sessions = create_sessionmaker(engine)
    delivered = claimed = 0
    pending = select(func.count()).where(WebhookDelivery.state == "pending")
    try:
        async with sessions() as session:
            await session.scalar(pending)  # connected before saying so
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        while True:
            report = await deliver_due(sessions, settings, limit=4)
            delivered += report.delivered
            claimed += report.claimed
            async with sessions() as session:
                if not await session.scalar(pending):
                    break
            await asyncio.sleep(0.01)
    finally:
        await engine.dispose()
    print(json.dumps({"claimed": claimed, "delivered": delivered}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
