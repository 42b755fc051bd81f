"""Jobs and credits under every interleaving a Hypothesis state machine can find.

The machine drives the real job lifecycle, sweep, executor and ledger against a real database
(a SQLite file, and PostgreSQL) through submit, claim, heartbeat, progress, success, failure with
and without retry, a worker killed before its commit, a worker that just vanishes, lease expiry
(a clock the test moves), the sweep, cancel, retry and admin grants. It keeps a small model of
what each step must do (who may claim, who is refused) and, after every step, checks the database
against the model and against the invariants the ledger and the job table promise:

- a balance is the sum of its user's ledger entries, and never below zero;
- per job and billing round at most one hold, capture and release, never a capture and a
  release; a succeeded round is captured, a failed/dead/cancelled one released, an open one
  only held; the open holds add up to the cost of the jobs not yet final;
- a final job does not change again except through a retry (a new round); attempts never pass
  max_attempts; a running job has one lease owner, no other job has one;
- a job's events are numbered 1..event_seq without gaps, with one final-status event per round,
  and one webhook delivery per finished round when the job asked for one.

At the end of every run the machine drains: time runs on, the sweep runs, a worker takes what
is left, and every job must reach a final state (nothing may sit holding credits forever).

RELIABILITY.md §2 test 21 (a) and (b), kill -9 before and after the success commit, are the two
deterministic tests at the bottom; (c), random kill points, is the machine's `kill_before_commit`
and `crash` rules.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.conftest import IN_CI
from voxhub.accounts.models import Role, User
from voxhub.accounts.principal import Principal
from voxhub.accounts.service import signup
from voxhub.audit.models import AuditEvent
from voxhub.audit.service import record
from voxhub.core.errors import InsufficientCredits, JobLimitReached, JobStateConflict
from voxhub.credits import ledger
from voxhub.credits import service as credit_service
from voxhub.credits.models import CreditEntry
from voxhub.credits.schemas import GrantRequest
from voxhub.credits.service import BalanceWouldGoNegative
from voxhub.db import models  # noqa: F401  (every table, for the mappers and TRUNCATE)
from voxhub.db.base import Base
from voxhub.db.migrate import upgrade_to_head
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.jobs import lifecycle, reclaim, service
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.executor import OWNER_BUSY_DELAY_S, Executor, JobContext
from voxhub.jobs.lifecycle import JobCancelled, LeaseLost, OwnerAtLimit
from voxhub.jobs.models import FINAL, Job, JobEvent, JobStatus
from voxhub.settings import JobSettings
from voxhub.webhooks.models import WebhookDelivery

Sessions = async_sessionmaker[AsyncSession]
T = TypeVar("T")
Who = int | str  # a worker slot, or "holder": the job's lease holder
WHO = st.sampled_from(["holder", "holder", 0, 1, 2])

LEASE_S = 30.0
REQUEUE_AFTER_S = 60.0
RETRY_DELAY_S = 2.0
START_CREDITS = 20
QUEUED_LIMIT = 3  # per owner (jobs_queued_per_user), small so the machine reaches it
RUNNING_LIMIT = 2  # per owner (jobs_running_per_user)
SLOTS = 3  # worker processes; a killed one comes back under a new id
ADMIN_ID = "00000000-0000-0000-0000-00000000a0a0"  # grants are audited under this actor
HOOK = "https://hooks.example.com/voxhub"
EPOCH = datetime(2030, 1, 1, tzinfo=UTC)
QUEUED, RUNNING = JobStatus.queued, JobStatus.running
RETRYABLE = {JobStatus.failed, JobStatus.dead, JobStatus.cancelled}


class Clock:
    """The lifecycle's `utcnow`, moved only by the test."""

    def __init__(self) -> None:
        self.now = EPOCH

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    for module in (lifecycle, reclaim, service):
        monkeypatch.setattr(module, "utcnow", c)
    return c


def job_settings() -> JobSettings:
    return JobSettings(
        job_lease_s=LEASE_S,
        job_requeue_after_s=REQUEUE_AFTER_S,
        job_retry_delay_s=RETRY_DELAY_S,
        jobs_running_per_user=RUNNING_LIMIT,
        jobs_queued_per_user=QUEUED_LIMIT,
    )


async def new_user(sessions: Sessions, email: str, credits: int) -> str:
    """A user signed up with an opening balance, which sign-up writes as a ledger grant."""
    async with sessions() as s:
        user = await signup(s, email, "correct horse battery", "Test", credits)
        kinds = list(
            await s.scalars(select(CreditEntry.kind).where(CreditEntry.user_id == user.id))
        )
        assert (user.credits, kinds) == (credits, ["grant"])
        return user.id


def owner_of(uid: str) -> Principal:
    return Principal(uid, Role.user, "jwt")


async def cancel(sessions: Sessions, job_id: str, owner: str) -> bool:
    """The owner cancels (POST /jobs/{id}/cancel): False when it had already finished."""
    async with sessions() as s:
        try:
            await service.cancel_job(s, job_id, owner_of(owner))
        except JobStateConflict:
            return False
        return True


async def retry(sessions: Sessions, job_id: str, owner: str) -> str:
    """The owner retries (POST /jobs/{id}/retry): a new round, held again."""
    async with sessions() as s:
        try:
            await service.retry_job(s, None, job_id, owner_of(owner), queued_limit=QUEUED_LIMIT)
        except JobStateConflict:
            return "conflict"
        except InsufficientCredits:
            return "insufficient"
        except JobLimitReached:
            return "limit"
        return "queued"


# --- Databases: the same opening state for every example -----------------------------------

USERS = ("user0@example.com", "user1@example.com")


class Database:
    """Hands each Hypothesis example a migrated database holding only the two users, just
    signed up. Sign-up hashes a password (a tenth of a second of CPU), so it runs once per
    test, and each example starts from a copy of that state."""

    users: list[str]

    async def fresh(self) -> Sessions:
        raise NotImplementedError

    async def done(self) -> None:
        """After an example."""

    async def close(self) -> None:
        """After the test."""


class SqliteFiles(Database):
    """A copy of one migrated file, users signed up, per example."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.template = folder / "template.db"
        self.numbers = itertools.count()
        self.engine: AsyncEngine | None = None

    async def setup(self) -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{self.template}")
        await upgrade_to_head(engine)
        sessions = create_sessionmaker(engine)
        self.users = [await new_user(sessions, email, START_CREDITS) for email in USERS]
        await engine.dispose()  # the last connection checkpoints the WAL into the file

    async def fresh(self) -> Sessions:
        path = self.folder / f"example-{next(self.numbers)}.db"
        shutil.copyfile(self.template, path)
        self.engine = create_engine(f"sqlite+aiosqlite:///{path}")
        return create_sessionmaker(self.engine)

    async def done(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None

    async def close(self) -> None:
        await self.done()


class PostgresTables(Database):
    """The test run's PostgreSQL database; before each example, everything the machine wrote
    is emptied and the users' opening balance granted again (creating a database from a
    template costs seconds here, mostly to drop it)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.sessions = create_sessionmaker(self.engine)

    async def _truncate(self, tables: list[str]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))

    async def setup(self) -> None:
        await upgrade_to_head(self.engine)
        await self._truncate([f'"{t.name}"' for t in Base.metadata.sorted_tables])
        self.users = [await new_user(self.sessions, email, START_CREDITS) for email in USERS]

    async def fresh(self) -> Sessions:
        await self._truncate(["jobs", "credit_entries", "audit_events"])
        # Back to what sign-up left: no credits but its grant entry (written as sign-up does).
        async with self.sessions() as s:
            await s.execute(update(User).values(credits=0))
            for uid in self.users:
                await ledger.grant(s, uid, START_CREDITS, "signup")
            await s.commit()
        return self.sessions

    async def close(self) -> None:
        # Leave the shared database as empty as it was found.
        await self._truncate([f'"{t.name}"' for t in Base.metadata.sorted_tables])
        await self.engine.dispose()


@dataclass
class World:
    run: Callable[[Coroutine[Any, Any, Any]], Any]
    db: Database
    clock: Clock


@pytest.fixture
def world(database_url: str, tmp_path: Path, clock: Clock):  # type: ignore[no-untyped-def]
    # One event loop for the whole test, driven from the (synchronous) state machine. Not set
    # as the thread's current loop, so pytest-asyncio's session loop is left alone.
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        db: SqliteFiles | PostgresTables
        if database_url.startswith("sqlite"):
            db = SqliteFiles(tmp_path)
        else:
            db = PostgresTables(database_url)
        runner.run(db.setup())
        try:
            yield World(runner.run, db, clock)
        finally:
            runner.run(db.close())


# --- The model ------------------------------------------------------------------------------


@dataclass
class ModelJob:
    """What the job row must say, as the model predicts it."""

    owner: str
    cost: int
    max_attempts: int
    hook: bool
    enqueued_at: datetime
    status: str = QUEUED
    round: int = 0
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    not_before: datetime | None = None
    cancel_requested: bool = False


class JobMachine(RuleBasedStateMachine):
    jobs = Bundle("jobs")

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.clock = world.clock
        self.clock.now = EPOCH
        self.sessions: Sessions = self.run(world.db.fresh())
        self.users = world.db.users
        self.balance = dict.fromkeys(self.users, START_CREDITS)
        self.model: dict[str, ModelJob] = {}
        self.incarnation = [0] * SLOTS
        self.seen: dict[str, tuple[str, int]] = {}  # job -> (status, round) last observed
        self.resubmitted: list[tuple[str, float]] = []
        self.outputs: Counter[str] = Counter()  # output rows committed with a success

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        result: T = self.world.run(coro)
        return result

    def worker(self, slot: int) -> str:
        return f"worker-{slot}.{self.incarnation[slot]}"

    def acting(self, job: str, who: Who) -> str:
        """The worker that acts: the job's lease holder (most steps a worker takes are its
        own job's), or whichever process now runs in a slot (a stale or stranger worker)."""
        holder = self.model[job].lease_owner
        if who == "holder":
            return holder or self.worker(0)
        return self.worker(int(who))

    def die(self, worker: str) -> None:
        slot, incarnation = map(int, worker.removeprefix("worker-").split("."))
        if self.incarnation[slot] == incarnation:
            self.incarnation[slot] += 1

    @property
    def now(self) -> datetime:
        return self.clock.now

    # -- model moves ---------------------------------------------------------------------

    def may_claim(self, m: ModelJob) -> bool:
        if m.cancel_requested:
            return False
        if m.status == QUEUED:
            return m.not_before is None or m.not_before <= self.now
        if m.status == RUNNING:
            assert m.lease_until is not None
            return m.lease_until < self.now and m.attempts < m.max_attempts
        return False

    def claimed(self, m: ModelJob, worker: str) -> None:
        m.status, m.lease_owner = RUNNING, worker
        m.lease_until = self.now + timedelta(seconds=LEASE_S)
        m.attempts += 1
        m.not_before = None

    @staticmethod
    def holds(m: ModelJob, worker: str) -> bool:
        return m.status == RUNNING and m.lease_owner == worker

    def ended(self, m: ModelJob, status: str) -> None:
        m.status, m.lease_owner, m.lease_until = status, None, None
        if status != JobStatus.succeeded:
            self.balance[m.owner] += m.cost

    def requeued(self, m: ModelJob, delay_s: float, *, count_attempt: bool = True) -> str:
        """A worker puts the job back; one whose cancel was asked ends cancelled instead (the
        claim skips it, so it would wait in the queue forever)."""
        m.status, m.lease_owner, m.lease_until = QUEUED, None, None
        m.not_before = self.now + timedelta(seconds=delay_s) if delay_s else None
        m.enqueued_at = self.now + timedelta(seconds=delay_s)
        m.attempts -= 0 if count_attempt else 1
        if m.cancel_requested:
            m.not_before = None
            self.ended(m, JobStatus.cancelled)
        return m.status

    def queued_of(self, uid: str) -> int:
        return sum(1 for m in self.model.values() if m.owner == uid and m.status == QUEUED)

    def at_running_limit(self, job_id: str) -> bool:
        """The owner runs RUNNING_LIMIT other jobs: the executor leaves this one queued."""
        owner = self.model[job_id].owner
        others = [
            j
            for j, m in self.model.items()
            if j != job_id and m.owner == owner and m.status == RUNNING
        ]
        return len(others) >= RUNNING_LIMIT

    # -- rules -----------------------------------------------------------------------------

    @rule(
        target=jobs,
        owner=st.integers(0, 1),
        cost=st.sampled_from([0, 1, 4, 9, 15]),
        max_attempts=st.integers(1, 3),
        hook=st.booleans(),
    )
    def submit(self, owner: int, cost: int, max_attempts: int, hook: bool) -> Any:
        """A submission: refused (402, 429) with nothing stored, or queued with its hold."""
        uid = self.users[owner]

        async def go() -> str:
            async with self.sessions() as s:
                try:
                    job = await service.new_job(
                        s,
                        "test.kind",
                        {"n": len(self.model)},
                        uid,
                        ["prepare", "render"],
                        cost=cost,
                        callback_url=HOOK if hook else None,
                        max_attempts=max_attempts,
                        queued_limit=QUEUED_LIMIT,
                    )
                except (InsufficientCredits, JobLimitReached) as exc:
                    await s.rollback()
                    return exc.code
                await s.commit()
                return job.id

        got = self.run(go())
        if self.queued_of(uid) >= QUEUED_LIMIT:
            assert got == "job_limit_reached"
        elif self.balance[uid] < cost:
            assert got == "insufficient_credits"
        else:
            assert got in self.run(self.job_ids()), got
            self.balance[uid] -= cost
            self.model[got] = ModelJob(uid, cost, max_attempts, hook, enqueued_at=self.now)
            return got
        return multiple()  # refused: nothing stored (the invariants count the rows)

    async def job_ids(self) -> set[str]:
        async with self.sessions() as s:
            return set(await s.scalars(select(Job.id)))

    @rule(job=jobs, slot=st.integers(0, SLOTS - 1))
    def claim(self, job: str, slot: int) -> None:
        """A worker claims the job as the executor does, within the owner's running limit."""
        m, w = self.model[job], self.worker(slot)
        expected = self.may_claim(m)
        try:
            got = self.run(
                lifecycle.claim(self.sessions, job, w, LEASE_S, running_limit=RUNNING_LIMIT)
            )
        except OwnerAtLimit:
            assert expected and self.at_running_limit(job), m
            return
        assert (got is not None) == expected and not (expected and self.at_running_limit(job))
        if expected:
            self.claimed(m, w)

    @rule(job=jobs, who=WHO)
    def heartbeat(self, job: str, who: Who) -> None:
        m, w = self.model[job], self.acting(job, who)
        ours = self.run(lifecycle.renew(self.sessions, job, w, LEASE_S))
        assert ours == self.holds(m, w), (m, w)
        if ours:
            m.lease_until = self.now + timedelta(seconds=LEASE_S)

    @rule(
        job=jobs,
        who=WHO,
        step=st.sampled_from(["prepare", "render", None]),
        percent=st.sampled_from([10, 60]),
    )
    def progress(self, job: str, who: Who, step: str | None, percent: int) -> None:
        """A step boundary; a cancel requested meanwhile stops the job as the executor does."""
        m, w = self.model[job], self.acting(job, who)

        async def go() -> str:
            try:
                await lifecycle.record_progress(self.sessions, job, w, percent, step, "working")
            except LeaseLost:
                return "lost"
            except JobCancelled:
                ended = await lifecycle.end(
                    self.sessions, job, JobStatus.cancelled, {"code": "cancelled"}, worker_id=w
                )
                assert ended is not None, "the cancelled job's own worker could not end it"
                return "cancelled"
            return "ok"

        got = self.run(go())
        expected = "lost" if m.lease_owner != w else "cancelled" if m.cancel_requested else "ok"
        assert got == expected, (m, w)
        if got == "cancelled":
            self.ended(m, JobStatus.cancelled)

    @rule(job=jobs, who=WHO)
    def succeed(self, job: str, who: Who) -> None:
        """The worker reports success; one that lost the job must be refused."""
        m, w = self.model[job], self.acting(job, who)
        ok = self.run(lifecycle.succeed(self.sessions, job, w, {"audio": f"{job}.wav"}))
        assert ok == self.holds(m, w), (m, w)
        if ok:
            self.ended(m, JobStatus.succeeded)

    @rule(job=jobs, who=WHO)
    def kill_before_commit(self, job: str, who: Who) -> None:
        """kill -9 after the handler wrote its output and marked the job succeeded, before the
        commit: the connection drops with the transaction open, and nothing of it may land."""
        m, w = self.model[job], self.acting(job, who)

        async def go() -> bool:
            async with self.sessions() as s:
                record(s, "test.output", actor_id=None, target_type="job", target_id=job)
                try:
                    await lifecycle.succeed_in(s, job, w, {"audio": f"{job}.wav"})
                    ours = True
                except LeaseLost:
                    ours = False
                await s.invalidate()  # the process is gone: no commit, no rollback sent
                return ours

        assert self.run(go()) == self.holds(m, w), (m, w)
        self.die(w)  # its process is gone; a new one takes the slot

    @rule(slot=st.integers(0, SLOTS - 1))
    def crash(self, slot: int) -> None:
        """The worker vanishes between steps: its leases run out on their own."""
        self.incarnation[slot] += 1

    @rule(
        job=jobs,
        who=WHO,
        how=st.sampled_from(["permanent", "retry", "hand_back"]),
        delay_s=st.sampled_from([0.0, RETRY_DELAY_S]),
    )
    def fail(self, job: str, who: Who, how: str, delay_s: float) -> None:
        """The handler stopped, and its worker writes what the executor would: failed (retrying
        cannot help), queued again with attempts left or dead without, or handed back on
        shutdown (the attempt not counted). A requeued job whose cancel was asked ends
        cancelled, as the executor's `_requeue` does."""
        m, w = self.model[job], self.acting(job, who)
        ours = self.holds(m, w)
        error = {"code": "boom", "message": "the handler failed"}

        async def requeue(**kw: Any) -> str | None:
            job_row = await lifecycle.requeue(self.sessions, job, error, worker_id=w, **kw)
            if job_row is None or not job_row.cancel_requested:
                return job_row.status if job_row else None
            async with self.sessions() as s:
                done = await lifecycle.cancel_queued_in(s, job, [Job.cancel_requested.is_(True)])
                await s.commit()
            assert done is not None
            return done.status

        async def end(status: JobStatus) -> str | None:
            job_row = await lifecycle.end(self.sessions, job, status, error, worker_id=w)
            return job_row.status if job_row else None

        if how == "permanent":
            got = self.run(end(JobStatus.failed))
        elif how == "hand_back":
            got = self.run(requeue(count_attempt=False))
        elif m.attempts < m.max_attempts:
            got = self.run(requeue(delay_s=delay_s))
        else:
            got = self.run(end(JobStatus.dead))
        if not ours:
            assert got is None, (m, w, got)
            return
        if how == "permanent":
            expected = JobStatus.failed
            self.ended(m, expected)
        elif how == "hand_back":
            expected = self.requeued(m, 0, count_attempt=False)
        elif m.attempts < m.max_attempts:
            expected = self.requeued(m, delay_s)
        else:
            expected = JobStatus.dead
            self.ended(m, expected)
        assert got == expected, (m, w, got)

    @rule(
        job=jobs,
        slot=st.integers(0, SLOTS - 1),
        outcome=st.sampled_from(
            ["return", "succeed_in", "permanent", "unexpected", "cancel_midway", "cancel_crash"]
        ),
    )
    def deliver(self, job: str, slot: int, outcome: str) -> None:
        """The queue hands the id to a worker, which runs the real executor end to end; an id
        delivered again for a job that finished or runs elsewhere is a no-op, and one whose
        owner runs their share already waits, untouched."""
        m, w = self.model[job], self.worker(slot)
        calls: list[int] = []

        async def handler(ctx: JobContext) -> dict[str, Any]:
            calls.append(ctx.attempt)
            await ctx.progress(30, "prepare")
            if outcome == "permanent":
                raise PermanentJobError("bad_input", "the payload cannot be rendered")
            if outcome.startswith("cancel"):
                assert await cancel(self.sessions, ctx.job_id, m.owner)
                if outcome == "cancel_crash":  # before any step boundary
                    raise RuntimeError("the engine fell over")
                await ctx.progress(60, "render")  # the step boundary: it stops here
            if outcome == "unexpected":
                raise RuntimeError("the engine fell over")
            if outcome == "succeed_in":
                async with ctx.sessions() as s:
                    record(s, "test.output", actor_id=None, target_type="job", target_id=job)
                    await ctx.succeed_in(s, {"audio": f"{job}.wav"})
                    await s.commit()
            return {"audio": f"{job}.wav"}

        async def resubmit(job_id: str, delay_s: float) -> None:
            self.resubmitted.append((job_id, delay_s))

        executor = Executor(self.sessions, {"test.kind": handler}, job_settings(), w)
        got = self.run(executor.run(job, resubmit))
        if not self.may_claim(m):
            assert got is None and not calls, (m, w, got)
            return
        if self.at_running_limit(job):
            assert got is None and not calls, (m, w, got)
            assert self.resubmitted[-1] == (job, OWNER_BUSY_DELAY_S)  # looked at in a second
            if m.status == QUEUED:  # and not handed again by the sweep meanwhile
                m.enqueued_at = self.now + timedelta(seconds=OWNER_BUSY_DELAY_S)
            return
        self.claimed(m, w)
        assert calls == [m.attempts]
        if outcome.startswith("cancel"):
            m.cancel_requested = True
        if outcome in ("return", "succeed_in"):
            expected: str = JobStatus.succeeded
            self.ended(m, expected)
            self.outputs[job] += outcome == "succeed_in"
        elif outcome in ("permanent", "cancel_midway"):
            expected = JobStatus.failed if outcome == "permanent" else JobStatus.cancelled
            self.ended(m, expected)
        elif m.attempts < m.max_attempts:
            delay = RETRY_DELAY_S * m.attempts
            expected = self.requeued(m, delay)
            if expected == QUEUED:
                assert self.resubmitted[-1] == (job, delay)
        else:  # out of attempts: dead, even when its cancel was asked (no step boundary came)
            expected = JobStatus.dead
            self.ended(m, expected)
        assert got == expected, (m, w, got)

    @rule(seconds=st.sampled_from([1, 5, 20, 31, 61]))
    def advance(self, seconds: int) -> None:
        self.clock.now += timedelta(seconds=seconds)

    @rule()
    def sweep(self) -> None:
        """Expired leases: queued again, dead (out of attempts) or cancelled (asked to stop);
        queued ids nobody took for a while: handed to the queue again."""
        got = self.run(reclaim.due_ids(self.sessions, REQUEUE_AFTER_S))
        expected = set()
        for job_id, m in self.model.items():
            if m.status != RUNNING:
                continue
            assert m.lease_until is not None
            if m.lease_until >= self.now:
                continue
            if m.cancel_requested:
                self.ended(m, JobStatus.cancelled)
            elif m.attempts >= m.max_attempts:
                self.ended(m, JobStatus.dead)
            else:
                self.requeued(m, 0)
                expected.add(job_id)
        stale = self.now - timedelta(seconds=REQUEUE_AFTER_S)
        for job_id, m in self.model.items():
            due = m.not_before is None or m.not_before <= self.now
            if m.status == QUEUED and not m.cancel_requested and m.enqueued_at < stale and due:
                m.enqueued_at = self.now
                expected.add(job_id)
        assert len(got) == len(set(got)) and set(got) == expected

    @rule(job=jobs)
    def cancel(self, job: str) -> None:
        """The owner cancels: a queued job ends now, released; a running one is asked to stop
        (asking again changes nothing); a finished one answers 409."""
        m = self.model[job]
        got = self.run(cancel(self.sessions, job, m.owner))
        assert got == (m.status not in FINAL), m
        if m.status == QUEUED:
            m.cancel_requested, m.not_before = True, None
            self.ended(m, JobStatus.cancelled)
        elif m.status == RUNNING:
            m.cancel_requested = True

    @rule(job=jobs)
    def retry(self, job: str) -> None:
        """The owner retries a failed, dead or cancelled job: a new round, held again; 409
        otherwise, 429 over the queued limit, 402 when the balance cannot cover it."""
        m = self.model[job]
        got = self.run(retry(self.sessions, job, m.owner))
        if m.status not in RETRYABLE:
            assert got == "conflict", (m, got)
        elif self.queued_of(m.owner) >= QUEUED_LIMIT:
            assert got == "limit", (m, got)
        elif self.balance[m.owner] < m.cost:
            assert got == "insufficient", (m, got)
        else:
            assert got == "queued", (m, got)
            self.balance[m.owner] -= m.cost
            m.status, m.round, m.attempts = QUEUED, m.round + 1, 0
            m.cancel_requested, m.not_before, m.enqueued_at = False, None, self.now

    @rule(owner=st.integers(0, 1), amount=st.sampled_from([5, -3, -25]))
    def grant(self, owner: int, amount: int) -> None:
        """An admin grants credits (or takes them back, never below zero: 409)."""
        uid = self.users[owner]
        admin = Principal(ADMIN_ID, Role.admin, "jwt")

        async def go() -> bool:
            async with self.sessions() as s:
                req = GrantRequest(user_id=uid, amount=amount, reason="admin grant")
                try:
                    await credit_service.admin_grant(s, req, admin, None)
                except BalanceWouldGoNegative:
                    return False
                return True

        ok = self.run(go())
        assert ok == (self.balance[uid] + amount >= 0)
        if ok:
            self.balance[uid] += amount

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def database_agrees(self) -> None:
        self.run(self.check())

    async def check(self) -> None:
        async with self.sessions() as s:
            credits = {
                uid: n
                for uid, n in await s.execute(
                    select(User.id, User.credits).where(User.id.in_(self.users))
                )
            }
            entries = (
                await s.execute(
                    select(
                        CreditEntry.user_id,
                        CreditEntry.job_id,
                        CreditEntry.round,
                        CreditEntry.kind,
                        CreditEntry.amount,
                    )
                )
            ).all()
            jobs = {j.id: j for j in await s.scalars(select(Job))}
            events = (
                await s.execute(select(JobEvent.job_id, JobEvent.seq, JobEvent.type, JobEvent.data))
            ).all()
            outputs = Counter(
                await s.scalars(
                    select(AuditEvent.target_id).where(AuditEvent.action == "test.output")
                )
            )
            hooks = Counter(
                (j, r)
                for j, r in await s.execute(select(WebhookDelivery.job_id, WebhookDelivery.round))
            )

        # An output lands with its job's success, or not at all (kill -9 before the commit).
        assert outputs == +self.outputs, (outputs, self.outputs)

        # Balances: the sum of the entries, never negative, as the model says.
        sums: dict[str, int] = defaultdict(int)
        for e in entries:
            sums[e.user_id] += e.amount
        for uid in self.users:
            assert credits[uid] == sums[uid] == self.balance[uid] >= 0, (uid, credits, sums)

        # Per job and round: one hold, then one capture or one release, by the job's final state.
        moves: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
        for e in entries:
            if e.job_id is None:
                assert e.kind == "grant"
                continue
            moves[(e.job_id, e.round)][e.kind] += 1
            cost = self.model[e.job_id].cost
            assert e.amount == {"hold": -cost, "release": cost, "capture": 0}[e.kind], e
        open_holds = 0
        assert set(jobs) == set(self.model), "a refused submission left a row, or one is lost"
        for job_id, m in self.model.items():
            j = jobs[job_id]
            for r in range(j.billing_round + 1):
                got = moves.pop((job_id, r), Counter())
                if not m.cost:
                    assert not got, (job_id, r, got)
                    continue
                final = r < j.billing_round or j.status in FINAL
                captured = r == j.billing_round and j.status == JobStatus.succeeded
                want = Counter(
                    hold=1, **({"capture" if captured else "release": 1} if final else {})
                )
                assert got == want, (job_id, r, j.status, got)
                open_holds += 0 if final else m.cost
        assert not moves, f"ledger rows for rounds that do not exist: {moves}"
        assert open_holds == sum(m.cost for m in self.model.values() if m.status not in FINAL)

        per_job: dict[str, list[Any]] = defaultdict(list)
        for e in events:
            per_job[e.job_id].append(e)
        for job_id, m in self.model.items():
            j = jobs[job_id]
            # The row is what the model predicts.
            assert (j.status, j.billing_round, j.attempts, j.cost, j.max_attempts) == (
                m.status,
                m.round,
                m.attempts,
                m.cost,
                m.max_attempts,
            ), (job_id, m)
            assert (j.lease_owner, j.lease_expires_at) == (m.lease_owner, m.lease_until), m
            assert (j.cancel_requested, j.not_before, j.enqueued_at) == (
                m.cancel_requested,
                m.not_before,
                m.enqueued_at,
            ), m
            assert j.attempts <= j.max_attempts
            assert (j.status == RUNNING) == (j.lease_owner is not None)
            # A final job stays final within its round.
            before = self.seen.get(job_id)
            if before and before[0] in FINAL and before[1] == j.billing_round:
                assert j.status == before[0], (job_id, before, j.status)
            self.seen[job_id] = (j.status, j.billing_round)
            # Events: 1..event_seq, one final-status event per finished round.
            evs = per_job[job_id]
            assert sorted(e.seq for e in evs) == list(range(1, j.event_seq + 1)), job_id
            finals = [e for e in evs if e.type == "status" and e.data["status"] in FINAL]
            assert len(finals) == j.billing_round + (j.status in FINAL), (job_id, finals)
            # The webhook: one delivery per finished round, when it asked for one.
            for r in range(j.billing_round + 1):
                finished = r < j.billing_round or j.status in FINAL
                assert hooks[(job_id, r)] == (1 if m.hook and finished else 0), (job_id, r)

    # -- the end: nothing may hold credits forever ---------------------------------------------

    def teardown(self) -> None:
        try:
            if sys.exc_info()[0] is None:  # a run that failed already has its answer
                self.drain()
        finally:
            self.run(self.world.db.done())

    def drain(self) -> None:
        """Run time on, sweep, and let a fresh worker take and finish whatever is left."""
        for _ in range(12):
            if all(m.status in FINAL for m in self.model.values()):
                return
            self.advance(61)
            self.sweep()
            for job_id, m in self.model.items():
                if m.status in FINAL:
                    continue
                self.crash(0)
                self.claim(job_id, 0)
                if self.holds(m, self.worker(0)):
                    self.succeed(job_id, 0)
            self.database_agrees()
        stuck = {j: m for j, m in self.model.items() if m.status not in FINAL}
        assert not stuck, f"jobs that never finish (and keep their credits held): {stuck}"


# Examples per database: a SQLite example costs about a quarter of a second here, a PostgreSQL
# one about half a second (emptying its tables takes 0.2 s), so each
# gets what fits in about 25 s on two cores.
EXAMPLES = {"sqlite": 60, "postgres": 40}


def machine_settings(backend: str) -> settings:
    return settings(
        # A deeper local run: VOXHUB_STATE_MACHINE_EXAMPLES=500.
        max_examples=int(os.environ.get("VOXHUB_STATE_MACHINE_EXAMPLES", EXAMPLES[backend])),
        stateful_step_count=30,
        deadline=None,
        derandomize=IN_CI,  # CI runs the same examples every time
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=False,
    )


def test_job_state_machine(world: World, database_url: str) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    run_state_machine_as_test(lambda: JobMachine(world), settings=machine_settings(backend))


# --- RELIABILITY.md §2 test 21: credits exactly once under kill -9 ------------------------------


async def _start(sessions: Sessions) -> tuple[str, str]:
    uid = await new_user(sessions, "payer@example.com", 100)
    async with sessions() as s:
        job = await service.new_job(
            s, "test.kind", {}, uid, ["render"], cost=10, callback_url=HOOK, max_attempts=3
        )
        await s.commit()
    return uid, job.id


async def _books(sessions: Sessions, uid: str, job_id: str) -> dict[str, Any]:
    async with sessions() as s:
        job = await s.get(Job, job_id)
        assert job is not None
        kinds = Counter(
            await s.scalars(select(CreditEntry.kind).where(CreditEntry.job_id == job_id))
        )
        return {
            "status": job.status,
            "attempts": job.attempts,
            "balance": await s.scalar(select(User.credits).where(User.id == uid)),
            "ledger": dict(kinds),
            "outputs": await s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "test.output", AuditEvent.target_id == job_id)
            ),
            "webhooks": await s.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.job_id == job_id)
            ),
        }


def _writer(calls: list[str]) -> Callable[[JobContext], Coroutine[Any, Any, dict[str, Any]]]:
    """A handler that records its output and its success in one transaction."""

    async def handler(ctx: JobContext) -> dict[str, Any]:
        calls.append(ctx.worker_id)
        async with ctx.sessions() as s:
            record(s, "test.output", actor_id=None, target_type="job", target_id=ctx.job_id)
            await ctx.succeed_in(s, {"audio": "a.wav"})
            await s.commit()
        return {"audio": "a.wav"}

    return handler


async def _no_resubmit(job_id: str, delay_s: float) -> None:
    raise AssertionError("nothing is retried here")


@pytest.fixture
async def db(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.conftest import truncate_all

    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    await truncate_all(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()
    await truncate_all(database_url)


async def test_kill_before_the_success_commit_completes_once_after_the_lease(
    db: Sessions, clock: Clock
) -> None:
    """21 (a): the worker dies with its output and success written but not committed. Before
    the lease runs out a redelivery is refused; after it, the job runs again and completes
    once: one hold, one capture, one output, one webhook, balance 90."""
    uid, job_id = await _start(db)
    assert await lifecycle.claim(db, job_id, "worker-a", LEASE_S) is not None
    async with db() as s:
        record(s, "test.output", actor_id=None, target_type="job", target_id=job_id)
        await lifecycle.succeed_in(s, job_id, "worker-a", {"audio": "a.wav"})
        await s.invalidate()  # kill -9: the connection drops, the transaction never commits
    before = await _books(db, uid, job_id)
    assert before == {
        "status": "running",
        "attempts": 1,
        "balance": 90,
        "ledger": {"hold": 1},
        "outputs": 0,
        "webhooks": 0,
    }

    calls: list[str] = []
    worker_b = Executor(db, {"test.kind": _writer(calls)}, job_settings(), "worker-b")
    clock.now += timedelta(seconds=LEASE_S - 1)
    assert await worker_b.run(job_id, _no_resubmit) is None  # a's lease still holds
    assert calls == []
    clock.now += timedelta(seconds=2)  # the queue's min-idle time and the lease have passed
    assert await worker_b.run(job_id, _no_resubmit) == JobStatus.succeeded
    assert calls == ["worker-b"]
    # The dead worker's id, should anything of it come back, is refused.
    assert not await lifecycle.succeed(db, job_id, "worker-a", {"audio": "late.wav"})
    assert await _books(db, uid, job_id) == {
        "status": "succeeded",
        "attempts": 2,
        "balance": 90,
        "ledger": {"hold": 1, "capture": 1},
        "outputs": 1,
        "webhooks": 1,
    }


async def test_kill_after_the_commit_before_the_ack_is_a_no_op_on_redelivery(
    db: Sessions, clock: Clock
) -> None:
    """21 (b): the job committed its success and the worker died before acknowledging the
    message, so the queue hands the id out again (to another worker, and after the lease, to
    the sweep): nothing runs again and nothing is charged again."""
    uid, job_id = await _start(db)
    calls: list[str] = []
    handlers = {"test.kind": _writer(calls)}
    worker_a = Executor(db, handlers, job_settings(), "worker-a")
    assert await worker_a.run(job_id, _no_resubmit) == JobStatus.succeeded
    done = await _books(db, uid, job_id)
    assert done == {
        "status": "succeeded",
        "attempts": 1,
        "balance": 90,
        "ledger": {"hold": 1, "capture": 1},
        "outputs": 1,
        "webhooks": 1,
    }

    worker_b = Executor(db, handlers, job_settings(), "worker-b")
    assert await worker_b.run(job_id, _no_resubmit) is None
    clock.now += timedelta(seconds=LEASE_S + REQUEUE_AFTER_S + 1)
    assert await reclaim.due_ids(db, REQUEUE_AFTER_S) == []
    assert await worker_b.run(job_id, _no_resubmit) is None
    assert calls == ["worker-a"]
    assert await _books(db, uid, job_id) == done
