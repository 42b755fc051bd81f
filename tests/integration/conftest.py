"""Real voxhub processes for the multi-process acceptance tests: start, signal, always reap.

Each process runs the installed `voxhub` command with `VOXHUB_*` variables, in its own process
group, its output in a log file under the test's folder. The `procs` fixture kills every
process group it started when the test ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_DSN, need_server
from tests.integration.history import Stop

VOXHUB = Path(sys.executable).parent / "voxhub"
START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    """One voxhub process: its command, its log, and when it ran (monotonic seconds)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    port: int
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    # Every run of this process that the test ended, for the checks afterwards.
    stops: list[Stop] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        assert not self.alive, f"{self.name} is running already"
        with self.log.open("ab") as out:
            out.write(f"\n===== start {time.time():.3f} =====\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                [str(VOXHUB), *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group: teardown reaches its children too
            )
        self.started_at = time.monotonic()

    def wait_ready(self, path: str = "/health", timeout: float = START_TIMEOUT_S) -> float:
        """Block until `path` answers 200; returns the seconds the start took."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise AssertionError(f"{self.name} exited while starting:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + path, timeout=1).status_code == 200:
                    return time.monotonic() - self.started_at
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready after {timeout} s:\n{self.tail()}")

    def stop(self, sig: signal.Signals, timeout: float = 60.0) -> None:
        """Send `sig` to the process and wait for it to exit (SIGKILL if it overstays)."""
        if self.popen is None:
            return
        how, signalled_at = sig.name, datetime.now(UTC)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            how += "+SIGKILL"
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        # The group leader is gone; SIGKILL whatever it left in its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.stops.append(Stop(self.popen.pid, how, signalled_at, datetime.now(UTC)))
        self.popen = None

    def tail(self, lines: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


class Procs:
    """Every process a test started; `close` kills them all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.all: list[Proc] = []

    def add(self, name: str, args: list[str], env: dict[str, str], port: int | None = None) -> Proc:
        p = Proc(name, args, env, self.folder / f"{name}.log", port or free_port())
        self.all.append(p)
        return p

    @property
    def stops(self) -> list[Stop]:
        return [s for p in self.all for s in p.stops]

    def close(self) -> None:
        for p in self.all:
            if p.popen is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.popen.pid, signal.SIGKILL)
                p.popen.wait()
                p.popen = None


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    ps = Procs(tmp_path)
    try:
        yield ps
    finally:
        ps.close()


def base_env(home: Path, database_url: str) -> dict[str, str]:
    """What every process of one deployment shares: database, secret, fake engine, no limits
    that would refuse the test's own requests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXHUB_")}
    return env | {
        "VOXHUB_ENV": "test",
        "VOXHUB_HOME": str(home),
        "VOXHUB_DATABASE_URL": database_url,
        "VOXHUB_JWT_SECRET": "integration-test-secret-" + "x" * 40,
        "VOXHUB_BOOTSTRAP_ADMIN": "false",
        "VOXHUB_ENGINES": '["fake"]',
        "VOXHUB_DEFAULT_ENGINE": "fake",
        "VOXHUB_ENGINE_THREADS": "1",
        "VOXHUB_RATE_LIMITS_ENABLED": "false",
        "VOXHUB_JOBS_QUEUED_PER_USER": "1000",
        "VOXHUB_LOG_LEVEL": "INFO",
    }


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """A PostgreSQL database of its own for one test (processes of other tests stay out)."""
    import asyncpg

    name = f"voxhub_it_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        need_server(f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}")
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


REDIS_URL = os.environ.get("VOXHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_queue_name() -> Iterator[str]:
    """A Redis queue of the test's own; its keys are removed afterwards."""
    import redis

    name = f"voxhub-it-{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        need_server(f"Redis not reachable at {REDIS_URL}: {exc}")
    try:
        yield name
    finally:
        keys = list(client.scan_iter(match=f"*{name}*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One database file or server database that every process of the test shares."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    url: str = request.getfixturevalue("fresh_pg_url")
    return url
