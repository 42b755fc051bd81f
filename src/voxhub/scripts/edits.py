"""Editing a script's lines: one line's fields, adding, deleting, reordering, replacing all.

Every line kept must still be a line (voxhub.scripts.rules): its speaker one of the script's
cast and still visible to the editor, its text speakable within the caps, its emotion one of
the speaker's image labels. A line that is not answers 422 `invalid_script_line` naming it
(`line_id` where it has one, `index` its place) and nothing changes. A new speaker must have a
voice (422 `character_has_no_voice`); a line whose speaker lost its voice may still be edited,
and is refused by the render instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.activities.models import ActivityType
from voxhub.characters.queries import get_character
from voxhub.core.errors import CharacterNotFound, CharacterVoiceless
from voxhub.core.ids import new_id
from voxhub.scripts.errors import InvalidScriptLine, ScriptLineNotFound
from voxhub.scripts.models import Script, ScriptLine
from voxhub.scripts.rules import MAX_LINES, MIN_LINES, Cast, emotion_of, text_problem
from voxhub.scripts.schemas import LineCreate, LineUpdate
from voxhub.scripts.service import lock, record_edit
from voxhub.text.lane import off_loop


@dataclass(frozen=True)
class Wanted:
    """A line as an edit wants it; `emotion` None is none."""

    speaker: str
    text: str
    emotion: str | None
    pause_ms: int | None


def line_of(script: Script, line_id: str) -> ScriptLine:
    for line in script.lines:
        if line.id == line_id:
            return line
    raise ScriptLineNotFound(f"script {script.id} has no line {line_id}", line_id=line_id)


async def _cast(session: AsyncSession, script: Script, p: Principal, speakers: set[str]) -> Cast:
    """The cast members that `speakers` name, each checked against the script's cast."""
    members = []
    for speaker in speakers:
        if speaker not in script.character_ids:
            continue  # refused by `_check`, which names the line
        try:
            members.append(await get_character(session, speaker, p))
        except CharacterNotFound:
            continue  # no longer visible: refused by `_check` too
    return Cast.of(members)


async def _check(cast: Cast, wanted: Wanted, where: dict[str, Any], new_speaker: bool) -> Wanted:
    """`wanted` with its emotion as the speaker's label spells it, or InvalidScriptLine."""
    label = f"line {where.get('index', '?')}"
    member = cast.by_id(wanted.speaker)
    if member is None:
        raise InvalidScriptLine(
            f"{label}: the speaker {wanted.speaker} is not one of this script's characters "
            "(or is no longer visible to you)",
            field="speaker",
            **where,
        )
    if new_speaker and member.character.voice_id is None:
        raise CharacterVoiceless(
            f"{label}: {member.name} has no voice to say it", character_id=member.id, **where
        )
    why = await off_loop(text_problem, wanted.text)
    if why:
        raise InvalidScriptLine(f"{label}: {why}", field="text", **where)
    emotion = None
    if wanted.emotion is not None and wanted.emotion.strip():
        emotion = emotion_of(member, wanted.emotion)
        if emotion is None:
            known = ", ".join(member.labels) or "none"
            raise InvalidScriptLine(
                f"{label}: {member.name} has no image labelled {wanted.emotion!r} "
                f"(labels: {known})",
                field="emotion",
                **where,
            )
    return Wanted(wanted.speaker, wanted.text.strip(), emotion, wanted.pause_ms)


async def update_line(
    session: AsyncSession, script: Script, line_id: str, changes: LineUpdate, p: Principal
) -> ScriptLine:
    await lock(session, script)
    line = line_of(script, line_id)
    sent = changes.model_fields_set
    speaker = changes.speaker if changes.speaker is not None else line.speaker
    emotion = changes.emotion if "emotion" in sent else line.emotion
    if speaker != line.speaker and "emotion" not in sent:
        emotion = None  # the old speaker's image: the new one may have none of that name
    wanted = Wanted(
        speaker,
        changes.text if changes.text is not None else line.text,
        emotion,
        changes.pause_ms if "pause_ms" in sent else line.pause_ms,
    )
    where = {"line_id": line.id, "index": script.lines.index(line)}
    cast = await _cast(session, script, p, {speaker})
    checked = await _check(cast, wanted, where, new_speaker=speaker != line.speaker)
    _apply(line, checked)
    record_edit(session, script, ActivityType.script_line_updated, "Line edited in", **where)
    await session.commit()
    return line


async def add_line(
    session: AsyncSession, script: Script, data: LineCreate, p: Principal
) -> ScriptLine:
    await lock(session, script)
    lines = list(script.lines)
    if len(lines) >= MAX_LINES:
        raise InvalidScriptLine(f"a script has at most {MAX_LINES} lines", index=len(lines))
    at = len(lines) if data.position is None else min(data.position, len(lines))
    cast = await _cast(session, script, p, {data.speaker})
    wanted = Wanted(data.speaker, data.text, data.emotion, data.pause_ms)
    checked = await _check(cast, wanted, {"index": at}, new_speaker=True)
    line = ScriptLine(id=new_id(), script_id=script.id, position=at)  # its id in the activity
    _apply(line, checked)
    lines.insert(at, line)
    session.add(line)
    _renumber(lines)
    kind = ActivityType.script_line_added
    record_edit(session, script, kind, "Line added to", line_id=line.id, index=at)
    await session.commit()
    await session.refresh(script, ["lines"])
    return line


async def delete_line(session: AsyncSession, script: Script, line_id: str) -> None:
    await lock(session, script)
    line = line_of(script, line_id)
    if len(script.lines) <= MIN_LINES:
        raise InvalidScriptLine(
            f"a script keeps at least {MIN_LINES} lines",
            line_id=line_id,
            index=script.lines.index(line),
        )
    index = script.lines.index(line)
    lines = [ln for ln in script.lines if ln.id != line_id]
    await session.delete(line)
    _renumber(lines)
    kind = ActivityType.script_line_deleted
    record_edit(session, script, kind, "Line deleted from", line_id=line_id, index=index)
    await session.commit()
    await session.refresh(script, ["lines"])


async def reorder(session: AsyncSession, script: Script, line_ids: Sequence[str]) -> None:
    """Put the lines in the order of `line_ids`, which must name each line once."""
    await lock(session, script)
    by_id = {ln.id: ln for ln in script.lines}
    if sorted(line_ids) != sorted(by_id):
        raise InvalidScriptLine(
            "line_ids must name every line of the script once", field="line_ids"
        )
    _renumber([by_id[i] for i in line_ids])
    record_edit(session, script, ActivityType.script_lines_reordered, "Lines reordered in")
    await session.commit()
    await session.refresh(script, ["lines"])


async def replace_lines(
    session: AsyncSession, script: Script, wanted: Sequence[Wanted], p: Principal
) -> None:
    """The whole dialogue (seed 001's PUT): lines keep their ids by place, so an edit of one
    line's text leaves the others' ids (and what is keyed by them) as they were."""
    await lock(session, script)
    if not MIN_LINES <= len(wanted) <= MAX_LINES:
        raise InvalidScriptLine(
            f"a script has {MIN_LINES} to {MAX_LINES} lines; {len(wanted)} were sent",
            field="dialogue",
        )
    old = list(script.lines)
    cast = await _cast(session, script, p, {w.speaker for w in wanted})
    checked = []
    for i, w in enumerate(wanted):
        where: dict[str, Any] = {"index": i} | ({"line_id": old[i].id} if i < len(old) else {})
        before = old[i].speaker if i < len(old) else None
        checked.append(await _check(cast, w, where, new_speaker=w.speaker != before))
    for i, w in enumerate(checked):
        if i < len(old):
            _apply(old[i], w)
        else:
            line = ScriptLine(script_id=script.id, position=i)
            _apply(line, w)
            session.add(line)
    for line in old[len(checked) :]:
        await session.delete(line)
    kind = ActivityType.script_updated
    record_edit(session, script, kind, "Dialogue edited in", lines=len(checked))
    await session.commit()
    await session.refresh(script, ["lines"])


def _apply(line: ScriptLine, w: Wanted) -> None:
    line.speaker, line.text, line.emotion, line.pause_ms = w.speaker, w.text, w.emotion, w.pause_ms


def _renumber(lines: Sequence[ScriptLine]) -> None:
    for i, line in enumerate(lines):
        line.position = i
