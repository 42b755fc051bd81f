"""Acceptance (issue 9): the API and two `voxhub worker` processes on PostgreSQL, Redis and
SeaweedFS; 40 jobs of mixed kinds; one worker SIGKILLed while it runs a job.

Then the database and the store must show: every job reached a final state exactly once (and
succeeded: one kill costs one attempt of three); a job changed hands only after the killed
worker was dead; every balance equals the sum of its ledger entries and no job round was
captured twice; one generation per speech job and one voice per clone job; and after the sweep
no blob remains that no row names.
"""

from __future__ import annotations

import asyncio
import base64
import random
import signal
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from tests.conftest import SPEECH
from tests.conftest_seaweed import SeaweedS3
from tests.integration.conftest import REDIS_URL, START_TIMEOUT_S, Procs, base_env
from tests.integration.history import (
    LeaseWatch,
    check_events_exactly_once,
    check_generations,
    check_handovers,
    check_ledger,
    owner_pid,
    read_history,
    seed_account,
    wait_all_final,
)
from voxhub.core.clock import utcnow
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.jobs.models import Job
from voxhub.settings import Settings, StorageSettings
from voxhub.storage.factory import open_blob_store
from voxhub.storage.sweep import BLOB_KEY_COLUMNS, run_sweep
from voxhub.synthesis.timings import WORDS_SUFFIX
from voxhub.voices.models import Voice

FORMATS = ["wav", "mp3", "opus", "flac"]
SPEECH_JOBS = 28  # speech.synthesize, seven in each format
CLONES = 6  # seed004.clone: a voice upload, queued for a worker
STORIES = 6  # seed004.generate: a story's audio
SENTENCES = 5
CHUNK_DELAY_S = 0.3  # a speech job speaks for about SENTENCES * CHUNK_DELAY_S
LEASE_S = 4.0


def _env(home: Path, url: str, s3: SeaweedS3, bucket: str, queue: str) -> dict[str, str]:
    return base_env(home, url) | {
        "VOXHUB_REDIS_URL": REDIS_URL,
        "VOXHUB_JOB_QUEUE_NAME": queue,
        "VOXHUB_BLOB_STORE": "s3",
        "VOXHUB_S3_ENDPOINT_URL": s3.endpoint_url,
        "VOXHUB_S3_BUCKET": bucket,
        "VOXHUB_S3_ACCESS_KEY": s3.access_key,
        "VOXHUB_S3_SECRET_KEY": s3.secret_key,
        "VOXHUB_S3_REGION": s3.region,
        "VOXHUB_FAKE_CHUNK_DELAY_S": str(CHUNK_DELAY_S),
        "VOXHUB_JOBS_RUNNING_PER_USER": "100",
        "VOXHUB_JOB_LEASE_S": str(LEASE_S),
        "VOXHUB_JOB_SWEEP_INTERVAL_S": "0.5",
        "VOXHUB_JOB_REQUEUE_AFTER_S": "5",
        "VOXHUB_JOB_SHUTDOWN_GRACE_S": "2",
        "VOXHUB_JOB_RETRY_DELAY_S": "0.2",
        "VOXHUB_SWEEP_INTERVAL_S": "0",  # the test sweeps, once everything stopped
    }


def _holder_pids(url: str) -> list[int]:
    """The processes holding a running job's lease now."""

    async def go() -> list[int]:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as s:
                owners = await s.scalars(select(Job.lease_owner).where(Job.status == "running"))
                return [owner_pid(o) for o in owners if o]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _sweep_and_list(settings: Settings) -> tuple[list[str], set[str], int]:
    """The sweep `voxhub sweep` runs, as it would run once the grace period has passed (every
    process is stopped, so no upload is in flight); then every key in the store and every key
    a row names."""

    async def go() -> tuple[list[str], set[str], int]:
        engine = create_engine(settings.resolved_database_url)
        blobs = await open_blob_store(settings)
        try:
            sessions = create_sessionmaker(engine)
            later = utcnow() + timedelta(seconds=settings.storage.sweep_grace_s + 1)
            report = await run_sweep(
                sessions, blobs, settings.storage.sweep_grace_s, now=later, every=True
            )
            assert not report.failed, report
            keys = await blobs.list("")
            named: set[str] = set()
            async with sessions() as s:
                for column in BLOB_KEY_COLUMNS:
                    # Nullable columns (a consent's recording, a render's video): no key.
                    named.update(await s.scalars(select(column).where(column.is_not(None))))
            return keys, named, report.orphans_removed
        finally:
            await blobs.aclose()
            await engine.dispose()

    return asyncio.run(go())


def _voice_count(url: str) -> int:
    async def go() -> int:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as s:
                return int(await s.scalar(select(func.count()).select_from(Voice)) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_api_and_two_workers_survive_a_killed_worker(
    fresh_pg_url: str,
    seaweedfs_s3: SeaweedS3,
    redis_queue_name: str,
    tmp_path: Path,
    procs: Procs,  # last: its processes are killed before the database and queue go
) -> None:
    began = time.monotonic()
    url = fresh_pg_url
    bucket = f"it-{uuid.uuid4().hex[:10]}"
    queue = redis_queue_name
    key = seed_account(url, "it@example.com", credits=1000)
    env = _env(tmp_path / "home", url, seaweedfs_s3, bucket, queue)
    api = procs.add("api", ["serve"], env)
    api.env = env | {"VOXHUB_PORT": str(api.port)}
    w1 = procs.add("worker-1", [], env)
    w2 = procs.add("worker-2", [], env)
    for w in (w1, w2):
        w.args = ["worker", "--concurrency", "2", "--port", str(w.port)]
    for p in (api, w1, w2):
        p.start()
    starts = [round(p.wait_ready("/ready"), 1) for p in (api, w1, w2)]
    ready = time.monotonic()

    wav = (SPEECH / "vctk_p225_003.wav").read_bytes()
    headers = {"Authorization": f"Bearer {key}"}
    ids: list[str] = []
    with httpx.Client(base_url=api.base, headers=headers, timeout=30) as http:
        r = http.post(
            "/api/v1/voices",
            files={"file": ("ref.wav", wav)},
            data={"name": "It", "consent": "self"},
        )
        assert r.status_code == 201, r.text  # its instant profile was made on a worker
        voice_id = r.json()["id"]
        # Speech someone waits for is relayed from a worker too: the API holds no model.
        said = {"voice_id": voice_id, "text": "Relayed across processes. Whole."}
        whole = http.post("/api/v1/speech", json=said)
        assert whole.status_code == 200, whole.text
        assert whole.headers["x-voxhub-cache"] == "miss" and len(whole.content) > 44
        streamed = said | {"text": "Streamed across processes.", "stream": True}
        with http.stream("POST", "/api/v1/speech", json=streamed) as r:
            assert r.status_code == 200
            assert len(r.read()) > 44  # a WAV header and audio

        def text(tag: str) -> str:
            # Unique: no job is answered from another's cache.
            return " ".join(f"{tag} sentence {k} is spoken here." for k in range(SENTENCES))

        audio = base64.b64encode(wav).decode()
        # Seed 004's clone has no consent field: a standing attestation covers it.
        standing = http.post("/api/v1/consent/standing", json={"consent": "self"})
        assert standing.status_code == 201, standing.text
        kinds = ["clone"] * CLONES + ["story"] * STORIES + ["speech"] * SPEECH_JOBS
        random.Random(9).shuffle(kinds)  # interleaved, the same order every run
        for i, kind in enumerate(kinds):
            if kind == "clone":
                body = {"name": f"Clone {i}", "audio_data": audio, "audio_format": "wav"}
                r = http.post("/api/voices/clone", json=body)
                assert r.status_code == 202, r.text
                ids.append(r.json()["metadata"]["job_id"])
            elif kind == "story":
                body = {"voice_id": voice_id, "text": text(f"Story {i}"), "story_id": f"s{i}"}
                r = http.post("/api/tts/generate", json=body)
                assert r.status_code == 202, r.text
                ids.append(r.json()["metadata"]["job_id"])
            else:
                fmt = FORMATS[i % len(FORMATS)]
                body = {
                    "voice_id": voice_id,
                    "text": text(f"Job {i}"),
                    "format": fmt,
                    "async": True,
                }
                r = http.post("/api/v1/speech", json=body)
                assert r.status_code == 202, r.text
                ids.append(r.json()["id"])
    assert len(ids) == 40
    submitted = time.monotonic()

    with LeaseWatch(url) as watch:
        assert w1.popen is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while w1.popen.pid not in _holder_pids(url):
            assert time.monotonic() < deadline, "worker-1 never ran a job"
            time.sleep(0.05)
        w1.stop(signal.SIGKILL)  # mid-job: its lease lapses, its stream entry goes idle
        killed = time.monotonic()
        wait_all_final(url, 40, timeout=90)
    finished = time.monotonic()
    api.stop(signal.SIGTERM)
    w2.stop(signal.SIGTERM)

    h = read_history(url)
    print(
        f"\nscale-out: starts {starts} s (api, worker-1, worker-2); 40 jobs submitted in "
        f"{submitted - ready:.1f} s; worker-1 killed {killed - submitted:.1f} s later; "
        f"all final {finished - killed:.1f} s after the kill; "
        f"total {time.monotonic() - began:.1f} s"
    )
    assert sorted(h.jobs) == sorted(ids)
    kinds = sorted({j.kind for j in h.jobs.values()})
    assert kinds == ["seed004.clone", "seed004.generate", "speech.synthesize"]
    check_events_exactly_once(h)
    assert {j.status for j in h.jobs.values()} == {"succeeded"}, [
        (j.id, j.kind, j.status, j.error) for j in h.jobs.values() if j.status != "succeeded"
    ]
    handovers = check_handovers(h, watch, procs.stops)
    assert handovers >= 1  # the killed worker's job(s) went to the other worker
    gens = check_generations(h)
    assert len(gens) == SPEECH_JOBS + STORIES
    assert {g.format for g in gens.values()} == set(FORMATS)
    clones = [j for j in h.jobs.values() if j.kind == "seed004.clone"]
    assert len({j.result and j.result["voice_id"] for j in clones}) == CLONES
    assert _voice_count(url) == 1 + CLONES  # a re-run clone made no second voice
    check_ledger(h)
    assert all(j.cost > 0 for j in h.jobs.values())  # so the ledger check saw every job

    settings = Settings(
        home=tmp_path / "home",
        database_url=url,
        storage=StorageSettings(
            blob_store="s3",
            s3_endpoint_url=seaweedfs_s3.endpoint_url,
            s3_bucket=bucket,
            s3_access_key=seaweedfs_s3.access_key,
            s3_secret_key=seaweedfs_s3.secret_key,
        ),
    )
    keys, named, orphans = _sweep_and_list(settings)
    # A generation's word times sit beside its audio (no column names them): kept with it.
    words = {k for k in keys if k.endswith(WORDS_SUFFIX)}
    assert {k.removesuffix(WORDS_SUFFIX) for k in words} <= named, sorted(words)
    kept = set(keys) - words
    assert kept == named, (sorted(kept - named), sorted(named - kept))
    print(f"{handovers} hand-overs; {orphans} orphan blobs swept; {len(keys)} blobs kept")
