"""The GPU engines' tests, run in their worker environment (`make worker-env-neural`).

F5-TTS and Chatterbox cannot be installed beside the default environment (pyproject.toml
says why), so their random-weight tests live in tests/engines/neural/worker and run in the
worker environment's interpreter. Under CI the environment is built first (about five minutes
on two cores); on a developer's machine the test runs once it has been built, else skips.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import IN_CI, REPO

NEURAL = REPO / ".venv" / "neural"
WORKER = "tests/engines/neural/worker"


@pytest.mark.timeout(2400)
def test_gpu_engines_pass_in_their_worker_env() -> None:
    if IN_CI:
        subprocess.run(["make", "worker-env-neural"], cwd=REPO, check=True, timeout=1800)
    elif not (NEURAL / ".installed").exists():
        pytest.skip("no worker environment: `make worker-env-neural` builds it")
    run = subprocess.run(
        [str(NEURAL / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", WORKER],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = (run.stdout + run.stderr)[-6000:]
    assert run.returncode == 0, tail
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, tail
