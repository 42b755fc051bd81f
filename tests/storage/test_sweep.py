"""The blob outbox and the orphan sweep, over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import truncate_all
from voxhub.core.clock import utcnow
from voxhub.db.migrate import upgrade_to_head
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.settings import Settings, StorageSettings
from voxhub.storage.local import LocalBlobStore
from voxhub.storage.models import BlobDeletion
from voxhub.storage.outbox import FIRST_RETRY, drain, enqueue
from voxhub.storage.sweep import remove_orphans, run_sweep, start_sweep, stop_sweep
from voxhub.synthesis.models import Generation
from voxhub.voices.models import Voice, VoiceProfileRow, VoiceReference

Sessions = async_sessionmaker[AsyncSession]
OLD = 1_000_000_000  # 2001: far past any grace period


class BrokenStore(LocalBlobStore):
    """A local store whose removals fail while `broken` is set."""

    broken = True

    async def delete(self, key: str) -> None:
        if self.broken:
            raise OSError("store unreachable")
        await super().delete(key)

    async def delete_prefix(self, prefix: str) -> int:
        if self.broken:
            raise OSError("store unreachable")
        return await super().delete_prefix(prefix)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    await truncate_all(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> BrokenStore:
    s = BrokenStore(tmp_path / "blobs")
    s.broken = False
    return s


def age(store: LocalBlobStore, key: str) -> None:
    os.utime(store.root / key, (OLD, OLD))


async def promise(sessions: Sessions, prefix: str) -> str:
    async with sessions() as session:
        row = enqueue(session, prefix, "test")
        await session.commit()
    return row.id


async def outbox(sessions: Sessions) -> list[BlobDeletion]:
    async with sessions() as session:
        return list(await session.scalars(select(BlobDeletion)))


async def test_a_promise_rolled_back_is_never_kept(sessions: Sessions) -> None:
    async with sessions() as session:
        enqueue(session, "voices/v/", "test")
        await session.rollback()
    assert await outbox(sessions) == []


async def test_drain_removes_the_prefix_or_key_then_the_row(
    sessions: Sessions, store: BrokenStore
) -> None:
    for key in ["voices/a/refs/1.flac", "voices/a/profiles/p.bin", "voices/ab/x", "voices/b/y"]:
        await store.put(key, b".")
    ids = [await promise(sessions, "voices/a/"), await promise(sessions, "voices/b/y")]
    report = await drain(sessions, store, ids)
    assert (report.done, report.failed) == (2, 0)
    assert await store.list() == ["voices/ab/x"]
    assert await outbox(sessions) == []


async def test_a_failing_store_keeps_the_promise_with_backoff(
    sessions: Sessions, store: BrokenStore
) -> None:
    await store.put("voices/a/refs/1.flac", b".")
    row_id = await promise(sessions, "voices/a/")
    store.broken = True
    started = utcnow()
    report = await drain(sessions, store, [row_id], now=started)
    assert (report.done, report.failed) == (0, 1)
    [row] = await outbox(sessions)
    assert row.attempts == 1 and row.last_error == "OSError: store unreachable"
    assert row.next_attempt_at == started + FIRST_RETRY
    # Not due yet: a drain now leaves it alone; a second failure doubles the wait.
    assert (await drain(sessions, store, now=started)).failed == 0
    later = started + FIRST_RETRY
    assert (await drain(sessions, store, now=later)).failed == 1
    [row] = await outbox(sessions)
    assert row.attempts == 2 and row.next_attempt_at == later + 2 * FIRST_RETRY
    store.broken = False
    assert (await drain(sessions, store, now=later)).done == 0  # still waiting
    assert (await drain(sessions, store, now=later, every=True)).done == 1
    assert await store.list() == [] and await outbox(sessions) == []


async def test_a_row_claimed_by_another_drainer_is_left_to_it(
    sessions: Sessions, store: BrokenStore
) -> None:
    await store.put("voices/a/x", b".")
    row_id = await promise(sessions, "voices/a/")
    now = utcnow()
    first, second = await asyncio.gather(
        drain(sessions, store, [row_id], now=now), drain(sessions, store, [row_id], now=now)
    )
    assert first.done + second.done == 1 and first.failed + second.failed == 0
    assert await outbox(sessions) == []


async def add_voice(sessions: Sessions, voice_id: str, keys: dict[str, str]) -> None:
    """A voice whose reference, profile and generation rows name `keys` (by kind)."""
    async with sessions() as session:
        session.add(Voice(id=voice_id, name="v", embedding=b""))
        await session.flush()
        session.add(
            VoiceReference(
                voice_id=voice_id,
                blob_key=keys["ref"],
                duration_s=1,
                speech_s=1,
                sample_rate_in=24_000,
                embedding=b"",
                sha256="0" * 64,
            )
        )
        session.add(
            VoiceProfileRow(
                voice_id=voice_id,
                engine="fake",
                engine_version="1",
                status="ready",
                blob_key=keys["profile"],
            )
        )
        session.add(
            Generation(
                voice_id=voice_id,
                cache_key="0" * 64,
                engine="fake",
                engine_version="1",
                text="hi",
                format="wav",
                sample_rate=24_000,
                duration_s=1,
                blob_key=keys["generation"],
                size_bytes=1,
            )
        )
        await session.commit()


async def test_orphans_older_than_the_grace_period_go_and_nothing_else(
    sessions: Sessions, store: BrokenStore
) -> None:
    voice_id = "00000000-0000-4000-8000-000000000001"
    kept = {
        "ref": f"voices/{voice_id}/refs/r.flac",
        "profile": f"voices/{voice_id}/profiles/fake-p.bin",
        "generation": f"voices/{voice_id}/generations/g.wav",
    }
    await add_voice(sessions, voice_id, kept)
    # A crash between blob write and commit: blobs of a voice whose rows never committed, and
    # blobs beside a committed voice that no row names.
    orphans = [
        "voices/00000000-0000-4000-8000-000000000002/refs/lost.flac",
        f"voices/{voice_id}/profiles/fake-lost.bin",
        f"voices/{voice_id}/generations/lost.mp3",
    ]
    young = f"voices/{voice_id}/refs/in-flight.flac"
    outside = "elsewhere/not-a-voice.bin"
    for key in [*kept.values(), *orphans, young, outside]:
        await store.put(key, b".")
    for key in [*kept.values(), *orphans, outside]:
        age(store, key)

    assert await remove_orphans(sessions, store, grace_s=3600) == (len(orphans), 0)
    assert await store.list() == sorted([*kept.values(), young, outside])
    # Once past the grace period, the unclaimed upload goes too.
    later = utcnow() + timedelta(hours=2)
    assert await remove_orphans(sessions, store, grace_s=3600, now=later) == (1, 0)
    assert await store.list() == sorted([*kept.values(), outside])


async def test_a_generations_word_times_live_as_long_as_its_audio(
    sessions: Sessions, store: BrokenStore
) -> None:
    voice_id = "00000000-0000-4000-8000-000000000003"
    kept = {
        "ref": f"voices/{voice_id}/refs/r.flac",
        "profile": f"voices/{voice_id}/profiles/fake-p.bin",
        "generation": f"voices/{voice_id}/generations/g.wav",
    }
    await add_voice(sessions, voice_id, kept)
    # No row names a words blob: it is kept because the audio beside it is.
    words = f"{kept['generation']}.words.json"
    lost = f"voices/{voice_id}/generations/lost.wav.words.json"
    for key in [*kept.values(), words, lost]:
        await store.put(key, b"{}")
        age(store, key)
    assert await remove_orphans(sessions, store, grace_s=3600) == (1, 0)
    assert await store.list() == sorted([*kept.values(), words])


async def test_a_failing_store_leaves_orphans_for_the_next_sweep(
    sessions: Sessions, store: BrokenStore
) -> None:
    await store.put("voices/x/refs/lost.flac", b".")
    age(store, "voices/x/refs/lost.flac")
    store.broken = True
    report = await run_sweep(sessions, store, grace_s=3600)
    assert (report.orphans_removed, report.orphans_failed, report.failed) == (0, 1, True)
    store.broken = False
    report = await run_sweep(sessions, store, grace_s=3600)
    assert (report.orphans_removed, report.failed) == (1, False)
    assert await store.list() == []


@dataclass
class Bare:
    """What `start_sweep` reads from the container."""

    settings: Settings
    sessions: Sessions
    blobs: LocalBlobStore
    extras: dict[str, Any] = field(default_factory=dict)


async def test_the_periodic_sweep_retries_a_failed_removal(
    sessions: Sessions, store: BrokenStore
) -> None:
    await store.put("voices/a/refs/1.flac", b".")
    row_id = await promise(sessions, "voices/a/")
    store.broken = True
    await drain(sessions, store, [row_id])
    store.broken = False
    # Due at once, and the interval short, so the next period retries it.
    async with sessions() as session:
        row = await session.get(BlobDeletion, row_id)
        assert row is not None
        row.next_attempt_at = utcnow()
        await session.commit()
    settings = Settings(storage=StorageSettings(sweep_interval_s=0.05))
    c = Bare(settings, sessions, store)
    start_sweep(c)  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(20):
            while await outbox(sessions):
                await asyncio.sleep(0.05)
    finally:
        await stop_sweep(c)  # type: ignore[arg-type]
    assert await store.list() == [] and "sweep" not in c.extras


def test_the_periodic_sweep_is_off_at_interval_zero() -> None:
    c = Bare(Settings(storage=StorageSettings(sweep_interval_s=0)), None, None)  # type: ignore[arg-type]
    start_sweep(c)  # type: ignore[arg-type]
    assert c.extras == {}


async def test_studio_blobs_are_swept_like_voices(sessions: Sessions, store: BrokenStore) -> None:
    """Character images and thumbnails and spoken chat replies: kept while a row names them,
    removed once orphaned and past the grace period."""
    from voxhub.accounts import service as accounts
    from voxhub.characters.models import Character, CharacterImage
    from voxhub.chats.models import ChatMessageRow, ChatThread

    async with sessions() as session:
        user = await accounts.signup(session, "sweep@example.com", "a long password!", "s", 0)
        character = Character(owner_id=user.id, display_name="C")
        session.add(character)
        await session.flush()
        image = f"characters/{character.id}/images/i.webp"
        thumb = f"characters/{character.id}/thumbs/i.webp"
        session.add(
            CharacterImage(
                character_id=character.id,
                key="0",
                position=0,
                blob_key=image,
                thumb_key=thumb,
                media_type="image/webp",
                width=1,
                height=1,
                size_bytes=1,
                source_format="png",
                sha256="0" * 64,
            )
        )
        thread = ChatThread(owner_id=user.id, character_id=character.id)
        session.add(thread)
        await session.flush()
        audio = f"chats/{thread.id}/reply.mp3"
        session.add(
            ChatMessageRow(
                thread_id=thread.id, seq=0, role="assistant", content="x", audio_key=audio
            )
        )
        await session.commit()
    orphans = [
        f"characters/{character.id}/images/lost.webp",
        f"characters/{character.id}/thumbs/lost.webp",
        f"chats/{thread.id}/lost.mp3",
    ]
    for key in [image, thumb, audio, *orphans]:
        await store.put(key, b".")
        age(store, key)
    assert await remove_orphans(sessions, store, grace_s=3600) == (len(orphans), 0)
    assert await store.list() == sorted([image, thumb, audio])
