"""Acceptance (issue 9): two API processes on one database start and stop repeatedly while jobs
run, and no job runs twice.

Embedded mode: each `voxhub serve` process runs jobs itself. Both share one SQLite file (or one
PostgreSQL database) and one home. The test queues speech jobs, then stops one process or the
other while it holds a running job, alternating SIGKILL and SIGTERM, and starts it again, until
every job is final. Then the database must show: one final state per job; a job taken from its
runner only once that runner was dead (or handed back by a runner told to stop); exactly one
generation per succeeded job; balances that are the sum of their ledgers.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.conftest import SPEECH
from tests.integration.conftest import START_TIMEOUT_S, Proc, Procs, base_env
from tests.integration.history import (
    LeaseWatch,
    check_events_exactly_once,
    check_generations,
    check_handovers,
    check_ledger,
    final_states,
    owner_pid,
    read_history,
    seed_account,
    wait_all_final,
)
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.jobs.models import FINAL, Job

JOBS = 12
SENTENCES = 6
CHUNK_DELAY_S = 0.5  # a job speaks for about SENTENCES * CHUNK_DELAY_S
LEASE_S = 4.0
STOPS = 4
DEADLINE_S = 100.0


def _env(home: Path, url: str) -> dict[str, str]:
    return base_env(home, url) | {
        "VOXHUB_FAKE_CHUNK_DELAY_S": str(CHUNK_DELAY_S),
        "VOXHUB_JOB_WORKERS": "1",
        "VOXHUB_JOBS_RUNNING_PER_USER": "100",
        "VOXHUB_JOB_LEASE_S": str(LEASE_S),
        "VOXHUB_JOB_SWEEP_INTERVAL_S": "0.5",
        "VOXHUB_JOB_REQUEUE_AFTER_S": "3",
        "VOXHUB_JOB_SHUTDOWN_GRACE_S": "1",
        "VOXHUB_JOB_MAX_ATTEMPTS": "10",  # every job should succeed despite the kills
        "VOXHUB_JOB_RETRY_DELAY_S": "0.2",
        "VOXHUB_SWEEP_INTERVAL_S": "0",
    }


def _held_by(url: str, pid: int) -> int:
    """Running jobs whose lease the process `pid` holds now."""

    async def go() -> int:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as s:
                owners = await s.scalars(select(Job.lease_owner).where(Job.status == "running"))
                return sum(1 for o in owners if o and owner_pid(o) == pid)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _all_final(url: str) -> bool:
    states = final_states(url)
    return sum(states.values()) == JOBS and all(s in FINAL for s in states)


def _wait_holding(url: str, p: Proc, timeout: float) -> bool:
    """Wait until `p` runs at least one job (so the stop lands mid-run)."""
    assert p.popen is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _held_by(url, p.popen.pid):
            return True
        if _all_final(url):
            return False
        time.sleep(0.1)
    return False


def test_two_api_processes_restarting_run_no_job_twice(
    shared_db_url: str,
    tmp_path: Path,
    procs: Procs,  # last: its processes are killed before the database goes
) -> None:
    began = time.monotonic()
    url = shared_db_url
    key = seed_account(url, "it@example.com", credits=1000)
    env = _env(tmp_path / "home", url)
    a = procs.add("api-a", ["serve"], env)
    b = procs.add("api-b", ["serve"], env)
    for p in (a, b):
        p.env = p.env | {"VOXHUB_PORT": str(p.port)}
    a.start()
    b.start()
    starts = [a.wait_ready(), b.wait_ready()]
    headers = {"Authorization": f"Bearer {key}"}
    wav = (SPEECH / "vctk_p225_003.wav").read_bytes()
    with httpx.Client(headers=headers, timeout=30) as http:
        r = http.post(
            f"{a.base}/api/v1/voices",
            files={"file": ("ref.wav", wav)},
            data={"name": "It", "consent": "self"},
        )
        assert r.status_code == 201, r.text
        voice_id = r.json()["id"]
        ids = []
        for i in range(JOBS):
            # Unique texts: no job is served from another's cache, so each succeeded job has
            # exactly one generation of its own.
            text = " ".join(f"Job {i} sentence {k} is spoken here." for k in range(SENTENCES))
            body = {"voice_id": voice_id, "text": text, "format": "wav", "async": True}
            r = http.post(f"{(a, b)[i % 2].base}/api/v1/speech", json=body)
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
    submitted = time.monotonic()

    kills = 0
    with LeaseWatch(url) as watch:
        # Stop A, start it again, and while it starts stop B: the restarts overlap, and one
        # process starts (sweeping what the other left) while the other runs jobs.
        for n in range(STOPS):
            p = (a, b)[n % 2]
            if not _wait_holding(url, p, timeout=START_TIMEOUT_S):
                break  # every job is final already
            p.stop(signal.SIGKILL if n % 2 == 0 else signal.SIGTERM)
            kills += 1
            p.start()
        starts += [a.wait_ready(), b.wait_ready()]
        wait_all_final(url, JOBS, timeout=max(1.0, DEADLINE_S - (time.monotonic() - began)))
    finished = time.monotonic()
    a.stop(signal.SIGTERM)
    b.stop(signal.SIGTERM)

    h = read_history(url)
    print(
        f"\n[{url.split(':')[0]}] {JOBS} jobs; starts {[round(s, 1) for s in starts]} s; "
        f"submitted in {submitted - began:.1f} s; {kills} stops, "
        f"all final {finished - submitted:.1f} s after submission; "
        f"{watch.samples} lease samples; total {time.monotonic() - began:.1f} s"
    )
    assert sorted(h.jobs) == sorted(ids)
    check_events_exactly_once(h)
    assert {j.status for j in h.jobs.values()} == {"succeeded"}, [
        (j.id, j.status, j.error) for j in h.jobs.values() if j.status != "succeeded"
    ]
    gens = check_generations(h)
    assert len(gens) == JOBS
    # Every SIGKILL landed while its process ran a job, so each took at least one job away.
    handovers = check_handovers(h, watch, procs.stops)
    sigkills = sum(s.how == "SIGKILL" for s in procs.stops)
    assert kills >= 4 and sigkills >= 2 and handovers >= sigkills, (kills, handovers)
    print(f"{handovers} hand-overs checked ({sigkills} of the stops were SIGKILL)")
    check_ledger(h)
