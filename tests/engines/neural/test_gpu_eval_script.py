"""scripts/gpu-neural-eval needs real weights and a GPU; here only its command line is run."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO
from voxhub.engines.neural.evaluate import DEFAULT_SPEECH, parse


def test_help_runs_as_a_script_and_as_a_module() -> None:
    for command in (
        [sys.executable, str(REPO / "scripts" / "gpu-neural-eval"), "--help"],
        [sys.executable, "-m", "voxhub.engines.neural.evaluate", "--help"],
    ):
        run = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)
        assert run.returncode == 0, run.stderr
        assert "--engine {f5_tts,chatterbox,pocket_tts}" in run.stdout


def test_arguments_and_the_shared_speakers() -> None:
    args = parse(["--engine", "f5_tts", "--engine", "chatterbox", "--speakers", "2"])
    assert args.engine == ["f5_tts", "chatterbox"] and args.speakers == 2
    assert (DEFAULT_SPEECH / "MANIFEST.tsv").is_file()  # ../shared/data/speech beside the repo
