"""The CLI drives the same services in-process: clone, say (argument and stdin), voices list."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import av
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from tests.conftest import SPEECH
from voxhub.accounts import passwords, service
from voxhub.accounts.models import AuthSession, User
from voxhub.accounts.secrets import token_config
from voxhub.audit.models import AuditEvent
from voxhub.cli import app
from voxhub.core.errors import InvalidCredentials
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.settings import Settings

T = TypeVar("T")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOXHUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VOXHUB_ENGINES", '["fake"]')
    monkeypatch.setenv("VOXHUB_DEFAULT_ENGINE", "fake")
    return tmp_path


def test_clone_asks_whose_voice_it_is(env: Path) -> None:
    runner = CliRunner()
    ref = str(SPEECH / "vctk_p228_003.wav")
    for consent in ([], ["--consent", "maybe"]):
        r = runner.invoke(app, ["clone", ref, "--name", "No consent", *consent])
        assert r.exit_code == 2 and "--consent" in r.output, r.output
    assert not (env / "home").exists()  # refused before anything was opened or stored


def test_clone_say_and_list(env: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(
        app,
        ["clone", str(SPEECH / "vctk_p228_003.wav"), "--name", "Cli voice", "--consent", "self"],
    )
    assert r.exit_code == 0, r.output
    voice_id = r.stdout.strip().splitlines()[-1]

    out = env / "hello.mp3"
    r = runner.invoke(
        app, ["say", "--voice", voice_id, "Hello from the command line.", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    with av.open(io.BytesIO(out.read_bytes())) as f:
        assert f.format.name == "mp3"
    r = runner.invoke(app, ["detect", str(out)])  # the exact file: found by its hash
    assert r.exit_code == 0 and r.stdout.startswith("generated_by_this_instance (speech "), r.output
    r = runner.invoke(app, ["detect", str(SPEECH / "vctk_p228_005.wav")])
    assert r.exit_code == 0 and r.stdout.startswith("no_watermark_found: "), r.output

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
    r = runner.invoke(
        app, ["clone", str(SPEECH / "vctk_p227_003.wav"), "--name", "Eval me", "--consent", "self"]
    )
    voice_id = r.stdout.strip().splitlines()[-1]
    r = runner.invoke(app, ["voices", "eval", voice_id])
    assert r.exit_code == 0, r.output
    assert "similarity to reference" in r.stdout and "word error" in r.stdout


def test_spoken_consent_through_the_cli(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under the spoken policy `consent-phrase` issues a phrase and `clone` takes the speaker's
    recording of it: a recording that reads another sentence is refused, and nothing stored."""
    monkeypatch.setenv("VOXHUB_CONSENT_POLICY", "spoken")
    runner = CliRunner()
    r = runner.invoke(app, ["consent-phrase"])
    assert r.exit_code == 0, r.output
    phrase_id = r.stdout.strip().splitlines()[-1]
    assert "I give my consent to use my voice with" in r.output
    ref = str(SPEECH / "vctk_p228_003.wav")
    args = ["clone", ref, "--name", "Spoken", "--consent", "self"]
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "consent_required" in r.output, r.output
    other = str(SPEECH / "vctk_p228_005.wav")  # the same speaker, reading something else
    r = runner.invoke(app, [*args, "--consent-phrase-id", phrase_id, "--consent-audio", other])
    assert r.exit_code == 2 and "consent_mismatch" in r.output, r.output
    r = runner.invoke(app, ["voices", "list"])
    assert r.exit_code == 0 and "Spoken" not in r.stdout


def _in_db(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `fn` on the database the CLI just used (the env fixture's VOXHUB_HOME)."""

    async def main() -> T:
        engine = create_engine(Settings().resolved_database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def test_users_create_admin_and_migrate(env: Path) -> None:
    from alembic.script import ScriptDirectory

    from voxhub.db.migrate import alembic_config

    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert _in_db(lambda s: s.scalar(text("select version_num from alembic_version"))) == head

    r = runner.invoke(
        app,
        ["users", "create", "Ops@Example.com", "--admin"],
        input="a long admin password\na long admin password\n",
    )
    assert r.exit_code == 0, r.output
    user = _in_db(lambda s: s.scalar(select(User).where(User.email == "ops@example.com")))
    assert user is not None and user.role == "admin" and not user.disabled
    assert r.stdout.strip().splitlines()[-1] == user.id
    assert passwords.verify_password(user.password_hash, "a long admin password")
    again = runner.invoke(
        app, ["users", "create", "ops@example.com"], input="another password\nanother password\n"
    )
    assert again.exit_code == 2 and "conflict" in again.output
    count = _in_db(lambda s: s.scalar(select(func.count()).select_from(User)))
    assert count == 1 and passwords.verify_password(
        _in_db(lambda s: s.scalar(select(User.password_hash))), "a long admin password"
    )


def test_users_disable_ends_sessions_and_enable_restores(env: Path) -> None:
    runner = CliRunner()
    pw = "a long user password\n"
    assert runner.invoke(app, ["users", "create", "dee@example.com"], input=pw * 2).exit_code == 0

    async def sign_in(session: AsyncSession) -> str:
        cfg = token_config(Settings())
        signed = await service.login(session, cfg, "dee@example.com", pw.strip(), None)
        return signed.user.id

    user_id = _in_db(sign_in)
    r = runner.invoke(app, ["users", "disable", "DEE@example.com"])
    assert r.exit_code == 0, r.output

    async def state(session: AsyncSession) -> tuple[bool, list[str | None], list[str]]:
        user = await session.get(User, user_id)
        reasons = await session.scalars(
            select(AuthSession.revoked_reason).where(AuthSession.user_id == user_id)
        )
        actions = await session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == user_id)
        )
        assert user is not None
        return user.disabled, list(reasons), list(actions)

    disabled, reasons, actions = _in_db(state)
    assert disabled and reasons == ["disabled"] and "user_disabled" in actions
    with pytest.raises(InvalidCredentials):
        _in_db(sign_in)

    assert runner.invoke(app, ["users", "enable", "dee@example.com"]).exit_code == 0
    assert _in_db(state)[0] is False and _in_db(sign_in) == user_id
    missing = runner.invoke(app, ["users", "disable", "nobody@example.com"])
    assert missing.exit_code == 2 and "user_not_found" in missing.output


def test_webhooks_secret_is_the_one_deliveries_are_signed_with(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxhub.webhooks.signing import signing_secret

    runner = CliRunner()
    derived = runner.invoke(app, ["webhooks", "secret"])
    assert derived.exit_code == 0, derived.output
    assert derived.stdout.strip() == signing_secret(Settings())
    assert len(derived.stdout.strip()) == 64  # derived from the dev key, not the key itself
    assert runner.invoke(app, ["webhooks", "secret"]).stdout == derived.stdout  # stable

    monkeypatch.setenv("VOXHUB_WEBHOOK_SECRET", "the-receivers-shared-secret-0123456789")
    configured = runner.invoke(app, ["webhooks", "secret"])
    assert configured.stdout.strip() == "the-receivers-shared-secret-0123456789"

    monkeypatch.delenv("VOXHUB_WEBHOOK_SECRET")
    monkeypatch.setenv("VOXHUB_ENV", "prod")  # no key to derive it from
    refused = runner.invoke(app, ["webhooks", "secret"])
    assert refused.exit_code == 2 and "VOXHUB_JWT_SECRET" in refused.output
