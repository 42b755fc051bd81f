"""Carrying out the webhook outbox: POST each due delivery, signed, and record every attempt.

Any number of processes may run `deliver_forever` on one database. A row is taken by one
conditional UPDATE (pending, due, attempts left) that counts the attempt and moves
`next_attempt_at` past the attempt's deadline: a lease. Whoever else looks at the row meanwhile
sees it not due, so no two processes send one row at once. A process that dies mid-send leaves
the row to be sent again when the lease ends: delivery is at least once, and the delivery id in
`X-Idempotency-Key` lets the receiver drop the repeat. The outcome is written fenced on the
attempt number, so a deliverer that overran its lease cannot overwrite its successor's outcome.

Every attempt re-checks the destination against the allowlist and connects only to the
addresses that passed (see `transport`); redirects are not followed, so a 3xx is a failed attempt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.core.clock import utcnow
from voxhub.core.errors import CallbackNotAllowed
from voxhub.settings import Settings, WebhookSettings
from voxhub.webhooks import signing
from voxhub.webhooks.destinations import Unresolvable, require_allowed
from voxhub.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery
from voxhub.webhooks.transport import PinnedTransport

if TYPE_CHECKING:
    from voxhub.container import Container

log = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]

POLL_S = 1.0  # how often an idle deliverer looks for due rows
BATCH = 8  # rows one pass takes and sends side by side
MAX_DELAY = timedelta(hours=6)
_ERROR_CHARS = 500


def lease(ws: WebhookSettings) -> timedelta:
    """How long a taken row stays someone's: well past the attempt's own deadline."""
    return timedelta(seconds=2 * ws.webhook_timeout_s + 30)


def backoff(ws: WebhookSettings, number: int) -> timedelta:
    """The wait after failed attempt `number` (1-based): base * 2^(number-1), +-25 % jitter so
    the retries of many deliveries to one receiver that came back do not arrive together."""
    delay = ws.webhook_backoff_s * 2 ** min(number - 1, 20) * random.uniform(0.75, 1.25)
    return min(timedelta(seconds=delay), MAX_DELAY)


@dataclass(frozen=True)
class Claim:
    id: str
    url: str
    event: str
    body: bytes
    number: int


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    refused: bool = False  # the destination is not allowed: no retry

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def body_of(row: WebhookDelivery) -> bytes:
    """What is POSTed: the outbox payload with the delivery's id, as compact JSON."""
    doc: dict[str, Any] = {"id": row.id, **row.payload}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


async def deliver_due(
    sessions: Sessions, settings: Settings, *, now: datetime | None = None, limit: int = BATCH
) -> DeliveryReport:
    """One pass: take up to `limit` due deliveries and send them. Raises only when the database
    does; a destination's failure is recorded on its row."""
    ws = settings.webhooks
    now = now or utcnow()
    report = DeliveryReport()
    report.failed += await _close_abandoned(sessions, ws, now)
    async with sessions() as session:
        ids = list(
            await session.scalars(
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.state == DeliveryState.pending,
                    WebhookDelivery.next_attempt_at <= now,
                    WebhookDelivery.attempts < ws.webhook_max_attempts,
                )
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(limit)
            )
        )
    claims = [c for c in [await take(sessions, ws, row_id, now) for row_id in ids] if c]
    report.claimed = len(claims)
    if not claims:
        return report
    secret = signing.signing_secret(settings)
    states = await asyncio.gather(*(_deliver(sessions, ws, secret, c) for c in claims))
    for state in states:
        if state == DeliveryState.delivered:
            report.delivered += 1
        elif state == DeliveryState.failed:
            report.failed += 1
        elif state == DeliveryState.pending:
            report.retrying += 1
    return report


async def deliver_forever(sessions: Sessions, settings: Settings, poll_s: float = POLL_S) -> None:
    """Deliver webhooks until cancelled: a full batch goes again at once, else it waits."""
    while True:
        try:
            report = await deliver_due(sessions, settings)
        except Exception:
            log.exception("webhook delivery pass failed; trying again in %.1f s", poll_s)
            report = DeliveryReport()
        if report.claimed < BATCH:
            await asyncio.sleep(poll_s)


def start_delivery(c: Container, poll_s: float = POLL_S) -> None:
    """Run `deliver_forever` in the background of this process."""
    c.extras["webhook_delivery"] = asyncio.create_task(
        deliver_forever(c.sessions, c.settings, poll_s), name="webhook-delivery"
    )


async def stop_delivery(c: Container) -> None:
    """Stop delivering; a row taken mid-send is sent again once its lease ends."""
    task = c.extras.pop("webhook_delivery", None)
    if isinstance(task, asyncio.Task):
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _close_abandoned(sessions: Sessions, ws: WebhookSettings, now: datetime) -> int:
    """Rows whose last attempt was taken but never reported (its deliverer died) and that have
    no attempts left: they end failed instead of staying pending forever. Looked for with a
    read first, so an idle pass writes nothing (SQLite has one writer for every process)."""
    abandoned = (
        WebhookDelivery.state == DeliveryState.pending,
        WebhookDelivery.next_attempt_at <= now,
        WebhookDelivery.attempts >= ws.webhook_max_attempts,
    )
    async with sessions() as session:
        if await session.scalar(select(WebhookDelivery.id).where(*abandoned).limit(1)) is None:
            return 0
        result = await session.execute(
            update(WebhookDelivery)
            .where(*abandoned)
            .values(
                state=DeliveryState.failed,
                last_error="out of attempts; the last one was never reported back",
                updated_at=now,
            )
        )
        await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def take(sessions: Sessions, ws: WebhookSettings, row_id: str, now: datetime) -> Claim | None:
    """Take the row for one attempt (counted now, so a row whose deliverers keep dying still
    runs out), or None when it is not due or another deliverer took it first."""
    async with sessions() as session:
        number = await session.scalar(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == row_id,
                WebhookDelivery.state == DeliveryState.pending,
                WebhookDelivery.next_attempt_at <= now,
                WebhookDelivery.attempts < ws.webhook_max_attempts,
            )
            .values(
                attempts=WebhookDelivery.attempts + 1,
                next_attempt_at=now + lease(ws),
                updated_at=now,
            )
            .returning(WebhookDelivery.attempts)
            .execution_options(synchronize_session=False)
        )
        row = await session.get(WebhookDelivery, row_id) if number is not None else None
        await session.commit()
    if row is None or number is None:
        return None  # another deliverer took it first
    return Claim(row.id, row.url, row.event, body_of(row), number)


async def attempt(ws: WebhookSettings, secret: str, claim: Claim) -> Outcome:
    """One POST, start to answer within `webhook_timeout_s`; never raises for the destination."""
    try:
        async with asyncio.timeout(ws.webhook_timeout_s):
            addresses = await require_allowed(claim.url, ws)
            url = httpx.URL(claim.url)
            headers = signing.headers(secret, claim.url, claim.body, claim.id, claim.event)
            transport = PinnedTransport(url.raw_host.decode("ascii"), addresses)
            async with (
                httpx.AsyncClient(
                    transport=transport,
                    timeout=ws.webhook_timeout_s,
                    follow_redirects=False,
                    trust_env=False,  # an environment proxy would connect where it likes
                ) as client,
                client.stream("POST", url, content=claim.body, headers=headers) as resp,
            ):
                status = resp.status_code  # the body is never read: it could be any size
    except Unresolvable:
        return Outcome(None, f"{_host(claim.url)} does not resolve")
    except CallbackNotAllowed as exc:
        return Outcome(None, f"destination refused: {exc.message}", refused=True)
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(None, f"no answer within {ws.webhook_timeout_s:g} s")
    except httpx.ConnectError:
        return Outcome(None, f"could not connect to {_host(claim.url)} (or TLS failed)")
    except httpx.HTTPError:
        return Outcome(None, "the connection broke before an answer came")
    if 300 <= status < 400:
        return Outcome(status, f"answered {status}; redirects are not followed")
    if not 200 <= status < 300:
        return Outcome(status, f"answered {status}")
    return Outcome(status, None)


def _host(url: str) -> str:
    u = httpx.URL(url)
    return f"{u.host}:{u.port}" if u.port else u.host


async def _deliver(sessions: Sessions, ws: WebhookSettings, secret: str, claim: Claim) -> str:
    started = time.monotonic()
    outcome = await attempt(ws, secret, claim)
    duration_ms = round((time.monotonic() - started) * 1000)
    now = utcnow()
    values: dict[str, Any] = {
        "last_status": outcome.status_code,
        "last_error": outcome.error[:_ERROR_CHARS] if outcome.error else None,
        "updated_at": now,
    }
    if outcome.ok:
        values |= {"state": DeliveryState.delivered, "delivered_at": now}
    elif outcome.refused or claim.number >= ws.webhook_max_attempts:
        values |= {"state": DeliveryState.failed}
    else:
        values |= {"next_attempt_at": now + backoff(ws, claim.number)}
    async with sessions() as session:
        result = await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claim.id,
                WebhookDelivery.state == DeliveryState.pending,
                WebhookDelivery.attempts == claim.number,
            )
            .values(**values)
        )
        # The attempt happened whether or not the row is still ours, so it is always recorded.
        session.add(
            WebhookAttempt(
                delivery_id=claim.id,
                number=claim.number,
                status_code=outcome.status_code,
                error=values["last_error"],
                duration_ms=duration_ms,
                created_at=now,
            )
        )
        await session.commit()
    if not getattr(result, "rowcount", 0):
        log.warning("webhook %s attempt %d outlived its lease", claim.id, claim.number)
        return "superseded"
    state = str(values.get("state", DeliveryState.pending))
    log.info(
        "webhook %s attempt %d: %s (%s)",
        claim.id,
        claim.number,
        state,
        outcome.error or outcome.status_code,
    )
    return state
