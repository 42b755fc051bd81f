"""Scripts: the only place that commits them and their lines.

A script is written whole or not at all: its credits are held before the model is asked, and
the script, its lines and the capture of the hold go in one commit; any failure (the model
down, an answer still invalid after the retry, the client gone) stores nothing and releases
the hold. Edits lock the script's row first (the revision bump), so two edits of one script
take turns and each sees the other's lines.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import anyio
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.activities import service as activities
from voxhub.activities.models import ActivityType
from voxhub.characters.models import Character
from voxhub.characters.queries import get_character
from voxhub.container import Container
from voxhub.core.errors import CharacterVoiceless, LlmUnavailable
from voxhub.core.ids import is_id, new_id
from voxhub.core.pagination import decode_cursor, encode_cursor
from voxhub.credits import ledger
from voxhub.credits.pricing import llm_cost
from voxhub.llm.port import LLM
from voxhub.renders.models import LineTake, ScriptRender
from voxhub.scripts import writer
from voxhub.scripts.draft import LineDraft
from voxhub.scripts.errors import ScriptNotFound
from voxhub.scripts.models import Script, ScriptLine
from voxhub.scripts.rules import Cast
from voxhub.scripts.schemas import ScriptCreate
from voxhub.storage import outbox

log = logging.getLogger(__name__)


def the_llm(c: Container) -> LLM:
    if c.llm is None:
        raise LlmUnavailable("no language model is configured", retry_after=60)
    return c.llm


async def cast_of(session: AsyncSession, character_ids: Sequence[str], p: Principal) -> Cast:
    """The selected characters, each visible to the caller (404 otherwise) and with a voice
    (422 `character_has_no_voice`: a script is written to be spoken)."""
    characters: list[Character] = []
    for character_id in character_ids:
        character = await get_character(session, character_id, p)
        if character.voice_id is None:
            raise CharacterVoiceless(
                f"character {character.display_name!r} has no voice to say its lines",
                character_id=character.id,
            )
        characters.append(character)
    return Cast.of(characters)


async def generate(c: Container, session: AsyncSession, data: ScriptCreate, p: Principal) -> Script:
    """Have the model write a script for `data`, stored with its credits captured."""
    llm = the_llm(c)
    cast = await cast_of(session, data.character_ids, p)
    script_id = new_id()
    cost = llm_cost(c.settings.credits)
    await ledger.reserve(c.sessions, p.user_id, script_id, cost, "script")
    await session.close()  # no session held while the model writes
    stored = False
    try:
        written = await writer.write(llm, cast, data.prompt, data.lines)
        script = Script(
            id=script_id,
            owner_id=p.user_id,
            title=data.title or written.draft.title or _title_from(data.prompt),
            prompt=data.prompt,
            character_ids=[m.id for m in cast.members],
            model=written.model,
            tokens_in=written.tokens_in,
            tokens_out=written.tokens_out,
        )
        await _store(c, script, written.draft.lines, cost)
        stored = True
        return script
    finally:
        if not stored and cost:
            await _release(c, p.user_id, script_id)


def _title_from(prompt: str) -> str:
    words = " ".join(prompt.split())
    return words if len(words) <= 60 else words[:57].rstrip() + "..."


async def _store(c: Container, script: Script, lines: Sequence[LineDraft], cost: int) -> None:
    async with c.sessions() as session:
        script.lines = [
            ScriptLine(
                position=i,
                speaker=ln.speaker,
                text=ln.text,
                emotion=ln.emotion,
                pause_ms=ln.pause_ms,
            )
            for i, ln in enumerate(lines)
        ]
        session.add(script)
        if cost:
            await ledger.capture_reserved(session, script.owner_id, script.id, "script")
        activities.record(
            session,
            script.owner_id,
            ActivityType.script_generated,
            f"Script {activities.quoted(script.title)} generated",
            script_id=script.id,
            details={"character_ids": list(script.character_ids), "lines": len(lines)},
        )
        await session.commit()


async def store_script(
    session: AsyncSession, owner_id: str, cast: Cast, title: str, lines: Sequence[LineDraft]
) -> Script:
    """A script as given (no model): for imports and tests."""
    script = Script(owner_id=owner_id, title=title, character_ids=[m.id for m in cast.members])
    script.lines = [
        ScriptLine(
            position=i, speaker=ln.speaker, text=ln.text, emotion=ln.emotion, pause_ms=ln.pause_ms
        )
        for i, ln in enumerate(lines)
    ]
    session.add(script)
    await session.commit()
    return script


async def _release(c: Container, user_id: str, script_id: str) -> None:
    """Give the hold back; shielded, as it runs while a request may be being cancelled (a hold
    this cannot release is released by the stale-hold sweep)."""
    with anyio.CancelScope(shield=True):
        try:
            await ledger.release_reserved(c.sessions, user_id, script_id, "script not written")
        except Exception:
            log.exception("could not release the hold of script %s", script_id)


async def get_script(session: AsyncSession, script_id: str, p: Principal) -> Script:
    """The caller's own script (any, for an admin); anyone else's looks missing."""
    script = await session.get(Script, script_id) if is_id(script_id) else None
    if script is None or not (script.owner_id == p.user_id or p.is_admin):
        raise ScriptNotFound(f"no script {script_id}", script_id=script_id)
    return script


async def list_scripts(
    session: AsyncSession, p: Principal, limit: int, cursor: str | None
) -> tuple[list[Script], str | None]:
    """The caller's scripts, newest first."""
    query = select(Script).where(Script.owner_id == p.user_id)
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(
            or_(Script.created_at < at, and_(Script.created_at == at, Script.id < row_id))
        )
    order = (Script.created_at.desc(), Script.id.desc())
    rows = list(await session.scalars(query.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None


async def lock(session: AsyncSession, script: Script) -> None:
    """Take the script's row lock (bumping its revision) and read its lines again under it."""
    await session.execute(
        update(Script)
        .where(Script.id == script.id)
        .values(revision=Script.revision + 1)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(script)
    await session.refresh(script, ["lines"])


def record_edit(
    session: AsyncSession, script: Script, kind: ActivityType, what: str, **details: object
) -> None:
    """An edit's activity, in the edit's commit: "Line added to script 'Night watch'"."""
    message = f"{what} script {activities.quoted(script.title)}"
    activities.record(
        session, script.owner_id, kind, message, script_id=script.id, details=dict(details)
    )


async def retitle(session: AsyncSession, script: Script, title: str) -> None:
    await lock(session, script)
    script.title = title
    record_edit(session, script, ActivityType.script_updated, "Renamed", fields=["title"])
    await session.commit()


async def delete_script(c: Container, session: AsyncSession, script: Script) -> list[str]:
    """The script, its lines and renders; returns the media files deleted with it (every
    line's take and every render's audio and video), removed through the blob outbox."""
    files = await media_files(session, script.id)
    promise = outbox.enqueue(session, f"scripts/{script.id}/", "script deleted")
    await session.delete(script)
    record_edit(session, script, ActivityType.script_deleted, "Deleted")
    await session.commit()
    await outbox.drain(c.sessions, c.blobs, [promise.id])
    return files


async def media_files(session: AsyncSession, script_id: str) -> list[str]:
    takes = await session.scalars(
        select(LineTake.blob_key).where(LineTake.script_id == script_id).order_by(LineTake.id)
    )
    renders = (
        await session.execute(
            select(ScriptRender.audio_key, ScriptRender.video_key)
            .where(ScriptRender.script_id == script_id)
            .order_by(ScriptRender.created_at)
        )
    ).all()
    return [*takes, *(key for row in renders for key in row if key)]
