"""Fail closed: with the watermark broken, `voxhub serve` exits without ever listening."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO

# Perth's import as it fails on a machine with no torchaudio and no stand-in: plain Perth
# would set PerthImplicitWatermarker = None and let the service run unmarked.
BROKEN_SERVE = """
import sys
sys.modules["torchaudio"] = None
from voxhub.safety import torchaudio_standin
torchaudio_standin.modules = lambda: {}
from voxhub.cli import app
app(["serve", "--host", "127.0.0.1", "--port", sys.argv[1]])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_serve_refuses_to_start_without_a_working_watermark(tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | {"VOXHUB_HOME": str(tmp_path / "home"), "VOXHUB_LOG_FORMAT": "text"}
    env.pop("VOXHUB_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", BROKEN_SERVE, str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = False
    deadline = time.monotonic() + 180
    while proc.poll() is None and time.monotonic() < deadline:
        served = served or _listening(port)
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    output = proc.communicate()[0]
    assert proc.returncode == 3, output  # uvicorn's STARTUP_FAILURE: the lifespan raised
    assert not served, output
    assert "voxhub refuses to start: every output must be watermarked" in output, output
    assert "module 'torchaudio.transforms' is missing" in output, output
    assert "voxhub is ready" not in output
