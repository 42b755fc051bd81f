"""The CLI drives the same services in-process: clone, say (argument and stdin), voices list."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from tests.conftest import SPEECH
from voxhub.cli import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOXHUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VOXHUB_ENGINES", '["fake"]')
    monkeypatch.setenv("VOXHUB_DEFAULT_ENGINE", "fake")
    return tmp_path


def test_clone_say_and_list(env: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["clone", str(SPEECH / "vctk_p228_003.wav"), "--name", "Cli voice"])
    assert r.exit_code == 0, r.output
    voice_id = r.stdout.strip().splitlines()[-1]

    out = env / "hello.mp3"
    r = runner.invoke(
        app, ["say", "--voice", voice_id, "Hello from the command line.", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    with av.open(io.BytesIO(out.read_bytes())) as f:
        assert f.format.name == "mp3"

    out2 = env / "stdin.wav"
    r = runner.invoke(
        app, ["say", "--voice", voice_id, "-o", str(out2)], input="Read from stdin.\n"
    )
    assert r.exit_code == 0, r.output
    assert out2.read_bytes()[:4] == b"RIFF"

    r = runner.invoke(app, ["voices", "list"])
    assert r.exit_code == 0 and "Cli voice" in r.stdout


def test_errors_are_reported_not_raised(env: Path) -> None:
    r = CliRunner().invoke(app, ["say", "--voice", "00000000-0000-4000-8000-000000000000", "hi"])
    assert r.exit_code == 2
    assert "voice_not_found" in r.output


def test_voices_eval_prints_similarity_and_word_error(env: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["clone", str(SPEECH / "vctk_p227_003.wav"), "--name", "Eval me"])
    voice_id = r.stdout.strip().splitlines()[-1]
    r = runner.invoke(app, ["voices", "eval", voice_id])
    assert r.exit_code == 0, r.output
    assert "similarity to reference" in r.stdout and "word error" in r.stdout


def test_users_create_admin_and_migrate(env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    r = runner.invoke(
        app,
        ["users", "create", "ops@example.com", "--admin"],
        input="a long admin password\na long admin password\n",
    )
    assert r.exit_code == 0, r.output
    assert "ops@example.com (admin)" in r.output
    again = runner.invoke(
        app, ["users", "create", "ops@example.com"], input="another password\nanother password\n"
    )
    assert again.exit_code == 2 and "conflict" in again.output
