"""The `voxhub` command: serve, worker, migrate, sweep, clone, say, voices, users, webhooks."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from voxhub.accounts.models import Role
from voxhub.accounts.principal import Principal
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.container import Role as ProcessRole
from voxhub.settings import Settings


class ConsentChoice(StrEnum):
    self = "self"
    written_permission = "written_permission"


class ServeRole(StrEnum):
    auto = "auto"
    all = "all"
    api = "api"


app = typer.Typer(help="voxhub: self-hostable voice cloning and speech.", no_args_is_help=True)
voices_app = typer.Typer(help="The voice library.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Job webhooks.", no_args_is_help=True)
app.add_typer(voices_app, name="voices")
app.add_typer(users_app, name="users")
app.add_typer(webhooks_app, name="webhooks")
console = Console(stderr=True)
T = TypeVar("T")


@asynccontextmanager
async def _container() -> AsyncIterator[Container]:
    with console.status("Loading voxhub (database, engines)..."):
        c = await build_container(Settings(), run_jobs=False)
    try:
        yield c
    finally:
        await close_container(c)


async def _as_admin(c: Container) -> Principal:
    """The CLI acts as the local admin (made on first use, like `voxhub serve` does)."""
    from voxhub.accounts.first_run import ensure_first_admin, local_admin_id

    creds = await ensure_first_admin(c)
    if creds is not None:
        console.print(f"first run: admin {creds.email} / {creds.password}, API key {creds.api_key}")
    admin_id = await local_admin_id(c)
    assert admin_id is not None
    return Principal(admin_id, Role.admin, "local")


def _run(fn: Callable[[Container], Awaitable[T]]) -> T:
    async def main() -> T:
        async with _container() as c:
            return await fn(c)

    try:
        return asyncio.run(main())
    except Exception as exc:
        from voxhub.core.errors import VoxhubError

        if isinstance(exc, VoxhubError):
            console.print(f"[red]error[/red] {exc.code}: {exc.message}")
            raise typer.Exit(2) from exc
        raise


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    role: Annotated[
        ServeRole,
        typer.Option(
            envvar="VOXHUB_ROLE",
            help="api: submit jobs, load no engine (jobs go to `voxhub worker`s); all: also run "
            "them here; auto: api when jobs go to Redis, else all",
        ),
    ] = ServeRole.auto,
) -> None:
    """Run the API (migrations are applied on start-up)."""
    import uvicorn

    from voxhub.app import create_app
    from voxhub.observability.logs import configure_logging

    # Given to the constructor, not set after: defaults that follow the bind address (the
    # consent policy of a public sign-up instance) must see the one actually served.
    chosen_bind = {k: v for k, v in (("host", host), ("port", port)) if v}
    settings = Settings(**chosen_bind)  # type: ignore[arg-type]
    chosen: ProcessRole = "all"
    if role is ServeRole.api or (role is ServeRole.auto and settings.queue_backend == "redis"):
        chosen = "api"
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings, role=chosen),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # JSON: uvicorn's records go through voxhub's root handler too, one format for all.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Jobs this process runs at once (one per GPU is usual)")
    ] = 1,
    host: Annotated[str | None, typer.Option(help="Address of /health, /ready, /metrics")] = None,
    port: Annotated[int, typer.Option(help="Port of /health, /ready and /metrics")] = 8001,
) -> None:
    """Run jobs from the Redis queue (scale-out): loads the engines, stops cleanly on SIGTERM."""
    from voxhub.worker.main import run_worker

    settings = Settings()
    if settings.queue_backend != "redis":
        console.print(
            "[red]error[/red] a worker takes jobs from Redis: set VOXHUB_REDIS_URL "
            "(and VOXHUB_DATABASE_URL to the PostgreSQL database the API uses)"
        )
        raise typer.Exit(2)
    asyncio.run(run_worker(settings, concurrency, host or settings.host, port))


@app.command()
def migrate() -> None:
    """Apply database migrations and exit."""
    from voxhub.db.migrate import upgrade_to_head
    from voxhub.db.session import create_engine

    async def main() -> None:
        engine = create_engine(Settings().resolved_database_url)
        await upgrade_to_head(engine)
        await engine.dispose()

    asyncio.run(main())
    console.print("database is up to date")


@app.command()
def sweep(
    grace: Annotated[
        float | None,
        typer.Option(min=60, help="Seconds an unreferenced blob is left alone (may be in flight)"),
    ] = None,
) -> None:
    """Remove blobs promised for deletion (retrying every one now) and blobs no row refers to."""
    from voxhub.storage.sweep import sweep_standalone

    r = asyncio.run(sweep_standalone(Settings(), grace))
    console.print(
        f"removals done {r.removals_done}, failed {r.removals_failed}; "
        f"orphan blobs removed {r.orphans_removed}, failed {r.orphans_failed}; "
        f"abandoned seed 004 uploads removed {r.uploads_removed}; "
        f"temp files removed {r.temp_files_removed}; "
        f"expired keys forgotten {sum(r.expired_purged.values())}",
        soft_wrap=True,
    )
    if r.failed:
        raise typer.Exit(1)


@app.command()
def clone(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Audio or video file")],
    name: Annotated[str, typer.Option("--name", "-n", help="Voice name")],
    consent: Annotated[
        ConsentChoice,
        typer.Option(
            help="self: you are the speaker; written_permission: you have the speaker's written"
            " permission (stored for good with the time and the recording's hash)"
        ),
    ],
    description: Annotated[str, typer.Option(help="Description")] = "",
    language: Annotated[str, typer.Option(help="Language code")] = "en",
    denoise: Annotated[bool, typer.Option(help="Remove background noise first")] = False,
    consent_phrase_id: Annotated[
        str | None,
        typer.Option(help="Under VOXHUB_CONSENT_POLICY=spoken: the phrase from `consent-phrase`"),
    ] = None,
    consent_audio: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="Under spoken consent: the speaker reading it"
        ),
    ] = None,
) -> None:
    """Register a voice from a recording and print its id."""
    from voxhub.safety.consent import ConsentClaim
    from voxhub.voices import service
    from voxhub.voices.schemas import VoiceCreate

    async def go(c: Container) -> None:
        meta = VoiceCreate(name=name, description=description, language=language, denoise=denoise)
        upload = service.Upload(file.read_bytes(), file.name)
        spoken = consent_audio.read_bytes() if consent_audio is not None else None
        given = ConsentClaim(consent.value, consent_phrase_id, spoken)
        async with c.sessions() as session:
            with console.status("Cleaning the reference and enrolling the voice..."):
                voice, reports = await service.create_voice(
                    c, session, [upload], meta, await _as_admin(c), consent=given
                )
        r = reports[0]
        console.print(
            f"[green]voice created[/green] {voice.name}: {r.speech_s:.1f} s of speech, "
            f"SNR {r.snr_db or 0:.0f} dB, warnings: {', '.join(r.warnings) or 'none'}"
        )
        print(voice.id)

    _run(go)


@app.command("consent-phrase")
def consent_phrase() -> None:
    """Issue a consent phrase (spoken consent): record the speaker reading it, then pass
    `--consent-phrase-id` and `--consent-audio` to `clone` within 10 minutes."""
    from voxhub.safety.challenges import issue

    async def go(c: Container) -> None:
        async with c.sessions() as session:
            phrase = await issue(c, session, await _as_admin(c))
        console.print(f"Read this aloud (valid until {phrase.expires_at:%H:%M:%S} UTC):")
        console.print(phrase.text, soft_wrap=True)
        print(phrase.phrase_id)  # the result: stdout

    _run(go)


@app.command()
def detect(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Audio or video")],
) -> None:
    """Check a file for voxhub's watermark, and whether this instance made it."""
    from voxhub.safety.detection import detect as detect_file

    async def go(c: Container) -> None:
        async with c.sessions() as session:
            found = await detect_file(c, session, file.read_bytes(), await _as_admin(c))
        made = f" ({found.kind} {found.generation_id})" if found.generation_id else ""
        print(f"{found.verdict}{made}: watermark score {found.score:.3f}")  # the result: stdout

    _run(go)


@app.command()
def say(
    text: Annotated[
        str | None, typer.Argument(help="Text to speak; omit or '-' to read stdin")
    ] = None,
    voice: Annotated[str, typer.Option("--voice", "-v", help="Voice id")] = "",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file")] = Path("out.wav"),
    format: Annotated[
        str | None, typer.Option(help="wav, mp3, opus, flac, pcm, mulaw, aac")
    ] = None,
    speed: Annotated[float, typer.Option(help="0.5 to 2.0")] = 1.0,
) -> None:
    """Speak text in a voice and write the audio to a file."""
    from voxhub.synthesis import service
    from voxhub.synthesis.schemas import SpeechRequest

    body = sys.stdin.read() if text in (None, "-") else text
    suffix = out.suffix.lstrip(".").lower()
    fmt = format or {"ogg": "opus", "raw": "pcm", "ulaw": "mulaw", "": "wav"}.get(suffix, suffix)
    req = SpeechRequest.model_validate(
        {"voice_id": voice, "text": body, "format": fmt, "speed": speed}
    )

    async def go(c: Container) -> None:
        async with c.sessions() as session:
            with console.status(f"Speaking {len(body)} characters..."):
                gen, data, cached = await service.speak(c, session, req, await _as_admin(c), "cli")
        out.write_bytes(data)
        console.print(
            f"[green]wrote[/green] {out} ({gen.duration_s:.1f} s{', cached' if cached else ''})"
        )

    _run(go)


@voices_app.command("list")
def voices_list(limit: Annotated[int, typer.Option(min=1, max=100)] = 50) -> None:
    """List voices."""
    from voxhub.voices import service

    async def go(c: Container) -> None:
        async with c.sessions() as session:
            items, _ = await service.list_voices(session, await _as_admin(c), limit=limit)
        table = Table("id", "name", "language", "profile", "created")
        for v in items:
            table.add_row(
                v.id, v.name, v.language, v.profile_status, v.created_at.strftime("%Y-%m-%d %H:%M")
            )
        Console().print(table)

    _run(go)


@voices_app.command("eval")
def voices_eval(
    voice_id: Annotated[str, typer.Argument(help="Voice id")],
    dnsmos: Annotated[bool, typer.Option(help="Also score DNSMOS quality")] = False,
) -> None:
    """Speak the test sentences in a voice: similarity to its reference and word error."""
    from voxhub.evaluation.voice import evaluate_voice, make_meters
    from voxhub.voices import service
    from voxhub.voices.profiles import load_reference_audio, profile_for

    async def go(c: Container) -> None:
        engine = c.engines.get()
        async with c.sessions() as session:
            voice = await service.get_voice(session, voice_id, await _as_admin(c))
            profile = await profile_for(c, session, voice, engine)
            reference = await load_reference_audio(c, voice)
        meters = make_meters(encoder=c.speaker, dnsmos=dnsmos)
        with console.status("Loading the recogniser..."):
            await asyncio.to_thread(meters.load)
        with console.status("Speaking and scoring the test sentences..."):
            from voxhub.audio.types import Audio

            result = await evaluate_voice(
                engine, profile, Audio(reference.samples, reference.sample_rate), meters
            )
        table = Table("metric", "value")
        table.add_row("voice", f"{voice.name} ({voice.profile_status})")
        table.add_row("similarity to reference (cosine)", f"{result.similarity:.3f}")
        table.add_row("word error (Whisper tiny.en)", f"{result.wer:.1%}")
        table.add_row("real-time factor", f"{result.rtf:.2f}")
        table.add_row("first chunk", f"{result.first_chunk_s:.2f} s")
        if result.dnsmos is not None:
            table.add_row("DNSMOS overall", f"{result.dnsmos:.2f}")
        Console().print(table)

    _run(go)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="Email address")],
    admin: Annotated[bool, typer.Option("--admin", help="Give the admin role")] = False,
    name: Annotated[str, typer.Option(help="Display name")] = "",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Password")
    ] = "",
) -> None:
    """Create an account (prompts for the password)."""
    from voxhub.accounts import service

    async def go(c: Container) -> None:
        role = Role.admin if admin else Role.user
        async with c.sessions() as session:
            user = await service.signup(
                session, email, password, name, c.settings.security.tokens_to_give, role=role
            )
        console.print(f"[green]created[/green] {user.email} ({user.role})")
        print(user.id)

    _run(go)


def _set_disabled(email: str, disabled: bool) -> None:
    from voxhub.accounts import admin

    async def go(c: Container) -> None:
        async with c.sessions() as session:
            user = await admin.user_by_email(session, email)
            await admin.set_disabled(session, user.id, disabled, actor_id=None, via="cli")
        state = "disabled (every session ended)" if disabled else "enabled"
        console.print(f"[green]{state}[/green] {user.email}")

    _run(go)


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="Email address")]) -> None:
    """Disable an account: its sessions end at once, its API keys and passwords are refused."""
    _set_disabled(email, True)


@users_app.command("enable")
def users_enable(email: Annotated[str, typer.Argument(help="Email address")]) -> None:
    """Enable a disabled account again (it signs in anew)."""
    _set_disabled(email, False)


@webhooks_app.command("secret")
def webhooks_secret() -> None:
    """Print the secret webhooks are signed with: give it to the receiver to verify them."""
    from voxhub.webhooks.signing import signing_secret

    try:
        print(signing_secret(Settings()))
    except Exception as exc:  # an insecure or missing key: say so, as the other commands do
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


if __name__ == "__main__":
    app()
