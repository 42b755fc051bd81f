"""What a render needs, read and checked in one short session: the lines and their voices.

The same check runs when a render is asked for (the API answers 422 naming the line) and when
the job starts (a voice deleted in between fails the job naming the line).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.characters.models import Character
from voxhub.characters.queries import get_character
from voxhub.container import Container
from voxhub.core.errors import CharacterNotFound, CharacterVoiceless, VoiceNotFound
from voxhub.engines.base import SynthesisParams
from voxhub.renders.takes import Voiced
from voxhub.scripts.errors import InvalidScriptLine
from voxhub.scripts.models import Script
from voxhub.voices.profiles import profile_for
from voxhub.voices.queries import get_voice


@dataclass(frozen=True)
class PlannedLine:
    index: int
    line_id: str
    speaker: str  # a character id
    text: str
    emotion: str | None
    pause_ms: int | None
    # The blob of the image shown while it is said (its emotion's, else the speaker's first).
    image_key: str | None


@dataclass(frozen=True)
class RenderPlan:
    script_id: str
    title: str
    lines: list[PlannedLine]
    cast: dict[str, Voiced]


def _image_key(character: Character, emotion: str | None) -> str | None:
    images = sorted(character.images, key=lambda i: i.position)
    if emotion:
        for image in images:
            if image.label.casefold() == emotion.casefold():
                return image.blob_key
    return images[0].blob_key if images else None


async def _member(
    session: AsyncSession, speaker: str, p: Principal, where: dict[str, object]
) -> Character:
    label = f"line {where['index']}"
    try:
        character = await get_character(session, speaker, p)
    except CharacterNotFound:
        raise InvalidScriptLine(
            f"{label}: its speaker {speaker} was deleted or is no longer visible to you",
            field="speaker",
            **where,
        ) from None
    if character.voice_id is None:
        raise CharacterVoiceless(
            f"{label}: {character.display_name} has no voice to say it (it was deleted)",
            character_id=character.id,
            **where,
        )
    return character


async def plan_render(
    c: Container, session: AsyncSession, script: Script, p: Principal
) -> RenderPlan:
    """The script's lines with their voices (profiles made now where stale); 422 naming the
    first line that cannot be spoken."""
    if not script.lines:
        raise InvalidScriptLine("the script has no lines to render", field="lines")
    engine = c.engines.get()
    cast: dict[str, Voiced] = {}
    characters: dict[str, Character] = {}
    lines: list[PlannedLine] = []
    for index, line in enumerate(script.lines):
        where: dict[str, object] = {"index": index, "line_id": line.id}
        if line.speaker not in script.character_ids:
            raise InvalidScriptLine(
                f"line {index}: its speaker is not one of the script's characters",
                field="speaker",
                **where,
            )
        if line.speaker not in cast:
            character = await _member(session, line.speaker, p, where)
            assert character.voice_id is not None
            try:
                voice = await get_voice(session, character.voice_id, p)
            except VoiceNotFound:
                raise CharacterVoiceless(
                    f"line {index}: the voice of {character.display_name} was deleted",
                    character_id=character.id,
                    **where,
                ) from None
            profile = await profile_for(c, session, voice, engine)
            params = SynthesisParams(speed=character.speed, language=voice.language or "en")
            cast[line.speaker] = Voiced(
                character.id,
                character.display_name,
                engine,
                profile,
                params,
                character.cross_fade_duration,
                character.remove_silences,
            )
            characters[line.speaker] = character
        image = _image_key(characters[line.speaker], line.emotion)
        lines.append(
            PlannedLine(index, line.id, line.speaker, line.text, line.emotion, line.pause_ms, image)
        )
    return RenderPlan(script.id, script.title, lines, cast)
