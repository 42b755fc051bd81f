"""Schemathesis over the whole OpenAPI of a real server, signed in: no request may cause a 5xx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = os.environ.get("VOXHUB_SCHEMATHESIS_EXAMPLES", "8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_server_errors_anywhere(tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | {
        "VOXHUB_HOME": str(tmp_path / "home"),
        "VOXHUB_PORT": str(port),
        "VOXHUB_ENGINES": '["fake"]',
        "VOXHUB_DEFAULT_ENGINE": "fake",
        "VOXHUB_RATE_LIMITS_ENABLED": "false",  # the fuzzer is one very busy client
        "VOXHUB_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "voxhub.cli", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        key = _wait_for_key(log, port, server)
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "st"),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                EXAMPLES,
                "--seed",
                "1",
                "--workers",
                "1",
                "--request-timeout",
                "60",
                "--suppress-health-check",
                "all",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
            env=env,
        )
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        assert "Internal" not in log.read_text()
    finally:
        server.terminate()
        server.wait(30)


def _wait_for_key(log: Path, port: int, server: subprocess.Popen[bytes]) -> str:
    deadline = time.time() + 180
    while time.time() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                for line in log.read_text().splitlines():
                    if "API key:" in line:
                        return line.split()[-1]
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("server did not start:\n" + log.read_text()[-3000:])
