"""Scale-out jobs: one `voxhub serve` (API role) and one, then two, `voxhub worker` processes on
Redis and PostgreSQL, all on loopback, the fake engine standing in for a model.

Prints JSON: jobs per minute with 1 and 2 workers (a burst of speech jobs submitted at once, from
the first submission to the last job's end), per-job run time (claim to end) and latency
(submission to end), and the queue's overhead per job: on an idle worker, from the API queueing
the id (`enqueued_at`) to a worker's claim (`started_at`), both stamped by the database clock's
writers on this one machine. And streaming speech's first byte through the API, relayed from a
worker, against the same from a process that runs the engine itself: the relay's overhead. The
fake engine sleeps `BENCH_JOB_ENGINE_S` per sentence (GPU work that leaves the CPU free); on a
2-core machine shared by PostgreSQL, Redis, the API and the workers the ratio between 1 and 2
workers stays well below 2. Numbers are printed, not asserted.

    python -m bench.jobs   (needs PostgreSQL at VOXHUB_BENCH_PG_DSN and Redis at VOXHUB_BENCH_REDIS)
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOXHUB_SHARED_DIR", REPO.parent / "shared")).resolve()
VOXHUB = Path(sys.executable).parent / "voxhub"
PG_DSN = os.environ.get("VOXHUB_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("VOXHUB_BENCH_REDIS", "redis://127.0.0.1:6379/0")
BURST = int(os.environ.get("BENCH_JOBS", "40"))
PROBES = int(os.environ.get("BENCH_QUEUE_PROBES", "10"))
FIRST_BYTE_PROBES = int(os.environ.get("BENCH_FIRST_BYTE_PROBES", "20"))
ENGINE_S = os.environ.get("BENCH_JOB_ENGINE_S", "0.2")
START_TIMEOUT_S = 300.0
DRAIN_TIMEOUT_S = 600.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 4) if xs else float("nan")


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Deployment:
    """The processes of one scale-out deployment, sharing a database, a queue and a home."""

    def __init__(self, home: Path, database_url: str, queue: str) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VOXHUB_")} | {
            "VOXHUB_HOME": str(home),
            "VOXHUB_DATABASE_URL": database_url,
            "VOXHUB_REDIS_URL": REDIS_URL,
            "VOXHUB_JOB_QUEUE_NAME": queue,
            "VOXHUB_JWT_SECRET": "bench-secret-" + "x" * 40,
            "VOXHUB_BOOTSTRAP_ADMIN": "false",
            "VOXHUB_ENGINES": '["fake"]',
            "VOXHUB_DEFAULT_ENGINE": "fake",
            "VOXHUB_FAKE_CHUNK_DELAY_S": ENGINE_S,
            "VOXHUB_ENGINE_THREADS": "1",
            "VOXHUB_RATE_LIMITS_ENABLED": "false",
            "VOXHUB_JOBS_QUEUED_PER_USER": "10000",
            "VOXHUB_JOBS_RUNNING_PER_USER": "100",
            "VOXHUB_PRICE_SPEECH_PER_1K_CHARS": "0",
            "VOXHUB_LOG_LEVEL": "WARNING",
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.names: list[str] = []

    def start(
        self, name: str, args: list[str], ready_url: str, env: dict[str, str] | None = None
    ) -> None:
        with (self.home / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [str(VOXHUB), *args],
                env=self.env | (env or {}),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        self.names.append(name)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}); see {name}.log")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} was not ready in {START_TIMEOUT_S:.0f} s")

    def stop(self, name: str) -> None:
        """Stop the process started as `name` (SIGTERM, as an orchestrator would)."""
        proc = self.procs.pop(self.names.index(name))
        self.names.remove(name)
        proc.terminate()
        proc.wait(60)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


async def seed_account(database_url: str) -> str:
    """A user with an API key, made through the account services."""
    from voxhub.accounts import api_keys
    from voxhub.accounts import service as accounts
    from voxhub.accounts.models import Role
    from voxhub.accounts.principal import Principal
    from voxhub.db.session import create_engine, create_sessionmaker

    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            user = await accounts.signup(
                session, "bench@example.com", "correct horse battery", "bench", 1_000_000
            )
            _, key = await api_keys.create_key(
                session, Principal(user.id, Role.user, "bench"), "bench"
            )
            return key
    finally:
        await engine.dispose()


async def job_times(database_url: str, ids: list[str]) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from voxhub.db.session import create_engine, create_sessionmaker
    from voxhub.jobs.models import Job

    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(
                    Job.status, Job.created_at, Job.enqueued_at, Job.started_at, Job.finished_at
                ).where(Job.id.in_(ids))
            )
            return [r._asdict() for r in rows]
    finally:
        await engine.dispose()


def submit(http: httpx.Client, voice_id: str, text: str) -> str:
    body = {"voice_id": voice_id, "text": text, "format": "wav", "async": True}
    r = http.post("/api/v1/speech", json=body)
    r.raise_for_status()
    return str(r.json()["id"])


def wait_final(http: httpx.Client, ids: list[str]) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        job = http.get(f"/api/v1/jobs/{pending[-1]}").json()
        if job["status"] in {"succeeded", "failed", "dead", "cancelled"}:
            pending.pop()
        else:
            time.sleep(0.1)
    if pending:
        raise RuntimeError(f"{len(pending)} jobs did not finish in {DRAIN_TIMEOUT_S:.0f} s")


def burst(http: httpx.Client, url: str, voice_id: str, tag: str) -> dict[str, float]:
    # Unique texts, so no job is answered from another's cache.
    ids = [submit(http, voice_id, f"Bench {tag} job {i} is spoken here.") for i in range(BURST)]
    wait_final(http, ids)
    rows = asyncio.run(job_times(url, ids))
    ok = [r for r in rows if r["status"] == "succeeded"]
    first = min(r["created_at"] for r in rows)
    last = max(r["finished_at"] for r in rows)
    span = (last - first).total_seconds()
    return {
        "jobs_per_minute": round(len(ok) / span * 60, 1),
        "job_run_s_median": median(
            [(r["finished_at"] - r["started_at"]).total_seconds() for r in ok]
        ),
        "job_latency_s_median": median(
            [(r["finished_at"] - r["created_at"]).total_seconds() for r in ok]
        ),
        "failed": len(rows) - len(ok),
    }


def queue_overhead(http: httpx.Client, url: str, voice_id: str) -> float:
    """Median ms from enqueue to claim, one job at a time on an idle worker."""
    ids = []
    for i in range(PROBES):
        job_id = submit(http, voice_id, f"Probe {i} is spoken here.")
        wait_final(http, [job_id])
        ids.append(job_id)
    rows = asyncio.run(job_times(url, ids))
    waits = [
        (r["started_at"] - (r["enqueued_at"] or r["created_at"])).total_seconds() * 1000
        for r in rows
    ]
    return round(statistics.median(waits), 1)


def first_bytes(http: httpx.Client, voice_id: str, tag: str) -> list[float]:
    """Seconds from sending a streaming request to its first audio byte, one at a time."""
    times = []
    for i in range(FIRST_BYTE_PROBES + 1):
        body = {"voice_id": voice_id, "text": f"First byte {tag} {i}.", "stream": True}
        started = time.perf_counter()
        with http.stream("POST", "/api/v1/speech", json=body) as r:
            r.raise_for_status()
            pieces = r.iter_raw()
            next(pieces)
            elapsed = time.perf_counter() - started
            for _ in pieces:  # the rest, so the generation is recorded as a whole stream
                pass
        if i:  # the first warms connections and caches
            times.append(elapsed)
    return times


def relay_overhead(dep: Deployment, http: httpx.Client, voice_id: str) -> dict[str, Any]:
    """Streaming speech's first byte from an API that relays it to a worker, and from a process
    that runs the engine itself (the embedded mode; jobs in memory, so it takes none of the
    deployment's); the difference is what the relay adds."""
    relayed = first_bytes(http, voice_id, "relayed")
    port = free_port()
    env = {"VOXHUB_PORT": str(port), "VOXHUB_JOB_QUEUE": "memory"}
    dep.start("embedded", ["serve", "--role", "all"], f"http://127.0.0.1:{port}/ready", env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=http.headers) as local:
            embedded = first_bytes(local, voice_id, "embedded")
    finally:
        dep.stop("embedded")
    out = {
        "stream_first_byte_s_median_embedded": median(embedded),
        "stream_first_byte_s_median_relayed": median(relayed),
    }
    delta = out["stream_first_byte_s_median_relayed"] - out["stream_first_byte_s_median_embedded"]
    out["stream_first_byte_relay_overhead_ms"] = round(delta * 1000, 1)
    return out


def measure_jobs() -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    name, queue = f"voxhub_bench_{tag}", f"bench-{tag}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        return {"skipped": f"PostgreSQL not reachable at {PG_DSN} ({type(exc).__name__})"}
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    home = REPO / "bench" / "out" / "jobs-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    dep = Deployment(home, url, queue)
    api_port = free_port()
    try:
        dep.env["VOXHUB_PORT"] = str(api_port)
        dep.start("api", ["serve"], f"http://127.0.0.1:{api_port}/health")
        key = asyncio.run(seed_account(url))
        out: dict[str, Any] = {"jobs_burst": BURST, "jobs_fake_engine_s_per_sentence": ENGINE_S}
        with httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        ) as http:
            for n in (1, 2):
                port = free_port()
                args = ["worker", "--concurrency", "1", "--port", str(port)]
                dep.start(f"worker-{n}", args, f"http://127.0.0.1:{port}/ready")
                if n == 1:  # the API holds no model: the voice's profile is made on a worker
                    ref = (SHARED / "data" / "speech" / "vctk_p225_003.wav").read_bytes()
                    files = {"file": ("ref.wav", ref)}
                    r = http.post(
                        "/api/v1/voices", files=files, data={"name": "b", "consent": "self"}
                    )
                    r.raise_for_status()
                    voice = r.json()["id"]
                    out |= relay_overhead(dep, http, voice)
                wait_final(http, [submit(http, voice, f"Warm up {n}.")])
                if n == 1:
                    out["queue_overhead_ms_median"] = queue_overhead(http, url, voice)
                for key_, value in burst(http, url, voice, str(n)).items():
                    out[f"{key_}_{n}_worker{'s' if n > 1 else ''}"] = value
        one, two = out["jobs_per_minute_1_worker"], out["jobs_per_minute_2_workers"]
        out["jobs_2_over_1_workers"] = round(two / one, 2)
        return out
    finally:
        dep.close()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        _forget_queue(queue)


def _forget_queue(queue: str) -> None:
    import redis

    with redis.Redis.from_url(REDIS_URL) as r:
        for pattern in (f"streaq:{queue}*", f"voxhub:{queue}:*"):
            keys = list(r.scan_iter(match=pattern, count=500))
            if keys:
                r.delete(*keys)


if __name__ == "__main__":
    print(json.dumps(measure_jobs(), indent=2))
