"""What the database says happened, read after (and while) the processes ran, and the checks.

"No job ran twice" cannot be read from the events alone: every write a worker makes is fenced
on its lease, so a second runner's output is refused and the log looks tidy either way. What
the test can prove is that a job changed hands only when its previous runner could no longer
be running it: `LeaseWatch` samples who holds each running job (the lease owner names the
process id), and each change of hands is checked against when that process was stopped.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from voxhub.accounts import api_keys
from voxhub.accounts import service as accounts
from voxhub.accounts.models import Role, User
from voxhub.accounts.principal import Principal
from voxhub.credits.models import CreditEntry
from voxhub.db import models  # noqa: F401  (every table, for the mappers)
from voxhub.db.migrate import upgrade_to_head
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.jobs.models import FINAL, Job, JobEvent
from voxhub.jobs.reclaim import RETRY_LOST
from voxhub.synthesis.models import Generation


def seed_account(url: str, email: str, credits: int) -> str:
    """Migrate the database and make a user with an API key; returns the key."""

    async def go() -> str:
        engine = create_engine(url)
        try:
            await upgrade_to_head(engine)
            async with create_sessionmaker(engine)() as session:
                user = await accounts.signup(session, email, "correct horse battery", "it", credits)
                _, key = await api_keys.create_key(
                    session, Principal(user.id, Role.user, "test"), "it"
                )
            return key
        finally:
            await engine.dispose()

    return asyncio.run(go())


@dataclass
class History:
    jobs: dict[str, Job]
    events: dict[str, list[JobEvent]]
    generations: list[Generation]
    entries: list[CreditEntry]
    users: list[User]


def read_history(url: str) -> History:
    async def go() -> History:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as s:
                jobs = {j.id: j for j in await s.scalars(select(Job))}
                events: dict[str, list[JobEvent]] = defaultdict(list)
                for e in await s.scalars(select(JobEvent).order_by(JobEvent.job_id, JobEvent.seq)):
                    events[e.job_id].append(e)
                gens = list(await s.scalars(select(Generation)))
                entries = list(await s.scalars(select(CreditEntry)))
                users = list(await s.scalars(select(User)))
            return History(jobs, dict(events), gens, entries, users)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def final_states(url: str) -> Counter[str]:
    """How many jobs are in each state now."""

    async def go() -> Counter[str]:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as s:
                return Counter(await s.scalars(select(Job.status)))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def wait_all_final(url: str, count: int, timeout: float) -> Counter[str]:
    """Block until `count` jobs exist and all are final; fail with the states otherwise."""
    deadline = time.monotonic() + timeout
    states: Counter[str] = Counter()
    while time.monotonic() < deadline:
        states = final_states(url)
        if sum(states.values()) == count and all(s in FINAL for s in states):
            return states
        time.sleep(0.5)
    raise AssertionError(f"jobs not all final after {timeout} s: {dict(states)}")


@dataclass
class Tenure:
    """One claim of a job: from its `running` status event to the event that ended it."""

    job_id: str
    attempt: int
    claimed_at: datetime
    ended_at: datetime | None = None
    ended_by: str = ""  # the next status: queued (requeue, hand-back), running (re-claim), final
    error_code: str | None = None
    error_message: str = ""
    owners: set[str] = field(default_factory=set)  # lease owners seen holding it


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def tenures(events: list[JobEvent]) -> list[Tenure]:
    """Each claim of the job, in order, with how it ended (the status event after it)."""
    out: list[Tenure] = []
    for e in events:
        if e.type != "status":
            continue
        status = e.data["status"]
        if out and out[-1].ended_at is None:
            out[-1].ended_at, out[-1].ended_by = _aware(e.created_at), status
            error = e.data.get("error") or {}
            out[-1].error_code, out[-1].error_message = error.get("code"), error.get("message", "")
        if status == "running":
            out.append(Tenure(e.job_id, e.data["attempts"], _aware(e.created_at)))
    return out


class LeaseWatch:
    """Samples the lease owner of every running job, from its own thread, with the wall-clock
    window each sample was read in."""

    def __init__(self, url: str, interval_s: float = 0.1) -> None:
        self.url = url
        self.interval_s = interval_s
        # (read from, read until, job id, attempts, lease owner)
        self.seen: list[tuple[float, float, str, int, str]] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> LeaseWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        engine = create_engine(self.url)
        sessions = create_sessionmaker(engine)
        query = select(Job.id, Job.attempts, Job.lease_owner).where(Job.status == "running")
        try:
            while not self._stop.is_set():
                t0 = time.time()
                try:
                    async with sessions() as s:
                        rows = (await s.execute(query)).all()
                except Exception:  # a busy SQLite file: the next sample will do
                    rows = []
                t1 = time.time()
                self.seen += [(t0, t1, j, a, o) for j, a, o in rows if o]
                self.samples += 1
                await asyncio.sleep(self.interval_s)
        finally:
            await engine.dispose()

    def attribute(self, runs: dict[str, list[Tenure]]) -> None:
        """Give each tenure the owners seen holding it. A sample belongs to the tenure of its
        job and attempt number whose span it overlaps; one that overlaps two (a hand-back keeps
        the attempt number) is left out."""
        for t0, t1, job_id, attempts, owner in self.seen:
            a, b = datetime.fromtimestamp(t0, UTC), datetime.fromtimestamp(t1, UTC)
            fits = [
                t
                for t in runs.get(job_id, [])
                if t.attempt == attempts
                and t.claimed_at <= b
                and (t.ended_at is None or a <= t.ended_at)
            ]
            if len(fits) == 1:
                fits[0].owners.add(owner)


def owner_pid(owner: str) -> int:
    """A lease owner is `host:pid:random` (bootstrap.worker_identity)."""
    return int(owner.split(":")[-2])


def check_events_exactly_once(h: History) -> None:
    """Every job reached one final state exactly once, as its last event, with no gaps."""
    for job_id, job in h.jobs.items():
        evs = h.events.get(job_id, [])
        assert [e.seq for e in evs] == list(range(1, job.event_seq + 1)), job_id
        finals = [e for e in evs if e.type == "status" and e.data["status"] in FINAL]
        assert len(finals) == 1, (job_id, [e.data["status"] for e in finals])
        assert finals[0].seq == job.event_seq and finals[0].data["status"] == job.status, job_id
        assert job.status in FINAL and job.lease_owner is None, (job_id, job.status)


def check_generations(h: History) -> dict[str, Generation]:
    """A succeeded speech job (a story's too) has exactly one generation (its text is unique),
    the one its result names; no generation exists for a job that did not succeed."""
    by_text: dict[str, list[Generation]] = defaultdict(list)
    for g in h.generations:
        by_text[g.text].append(g)
    out = {}
    for job_id, job in h.jobs.items():
        if job.kind not in ("speech.synthesize", "seed004.generate"):
            continue
        gens = by_text.get(job.payload["text"], [])
        if job.status == "succeeded":
            assert [g.id for g in gens] == [job.result and job.result["generation_id"]], job_id
            out[job_id] = gens[0]
        else:
            assert gens == [], (job_id, job.status)
    return out


def check_ledger(h: History) -> None:
    """Every balance is the sum of its entries; a job round is held once and then captured or
    released once (never both, never twice)."""
    sums: Counter[str] = Counter()
    for e in h.entries:
        sums[e.user_id] += e.amount
    for u in h.users:
        assert u.credits == sums[u.id], (u.email, u.credits, sums[u.id])
        assert u.credits >= 0, u.email
    per_round: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    for e in h.entries:
        if e.job_id is not None:
            per_round[(e.job_id, e.round)][e.kind] += 1
    for (key, rnd), kinds in per_round.items():
        # Each kind at most once per round (the unique key), never both captured and released.
        assert max(kinds.values()) == 1 and kinds["capture"] + kinds["release"] <= 1, (key, kinds)
        job = h.jobs.get(key)
        if job is None:
            continue  # work paid with no job (a clone's charge), keyed by what it paid for
        assert kinds["hold"] == 1 and kinds["capture"] + kinds["release"] == 1, (key, kinds)
        if rnd == job.billing_round:
            assert kinds["capture" if job.status == "succeeded" else "release"] == 1, key
    for job in h.jobs.values():
        if job.cost:
            assert (job.id, job.billing_round) in per_round, job.id


@dataclass
class Stop:
    """One run of a process that the test ended: its pid, how, and when (wall clock)."""

    pid: int
    how: str  # SIGTERM, SIGKILL, or SIGTERM+SIGKILL when it overstayed
    signalled_at: datetime
    exited_at: datetime

    @property
    def dead_at(self) -> datetime:
        """From when it could run nothing: a SIGKILL stops it at once, a SIGTERM lets it
        finish or hand back its jobs until it exits."""
        return self.signalled_at if self.how == "SIGKILL" else self.exited_at


def check_handovers(h: History, watch: LeaseWatch, stops: list[Stop]) -> int:
    """A job changed hands only when its runner could no longer run it: it was taken away
    (lease lapsed: requeued, re-claimed or buried as dead) only from a process that was dead
    by then, and handed back only by a process told to stop. Returns the hand-overs checked."""
    by_pid = {s.pid: s for s in stops}
    runs = {job_id: tenures(evs) for job_id, evs in h.events.items()}
    watch.attribute(runs)
    checked = 0
    for job_id, ts in runs.items():
        for t in ts:
            # One claim, one runner: a second owner seen in one tenure took it unfenced.
            assert len(t.owners) <= 1, (job_id, t.attempt, t.owners)
            if t.ended_at is None or (t.ended_by in FINAL and t.error_code != "worker_lost"):
                continue  # still open (checked elsewhere), or ended by its own runner
            # A runner that retries its own failure is no hand-over: the job failed, and it should
            # not have (the fake engine does not fail).
            assert (
                t.ended_by != "queued"
                or t.error_code is None
                or t.error_message == (RETRY_LOST["message"])
            ), f"{job_id} attempt {t.attempt} failed: {t.error_message}"
            assert t.owners, f"{job_id} attempt {t.attempt}: never saw who held it"
            pid = owner_pid(next(iter(t.owners)))
            stop = by_pid.get(pid)
            assert stop is not None, f"{job_id}: taken from {pid}, which was never stopped"
            if t.ended_by == "queued" and t.error_code is None:  # handed back by its runner
                assert stop.how.startswith("SIGTERM"), (job_id, stop)
                assert stop.signalled_at <= t.ended_at <= stop.exited_at, (job_id, t, stop)
            else:  # its lease lapsed: requeued or buried by the sweep, or re-claimed
                assert t.error_code in ("retrying", "worker_lost", None), (job_id, t)
                assert stop.dead_at <= t.ended_at, (job_id, t, stop)
            checked += 1
    return checked
