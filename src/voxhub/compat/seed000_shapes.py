"""Seed 000's records (voice models, Echos, messages, users) and who a request acts for.

A voice model is a voxhub voice: `_id`, `model_id` and `reference_id` are all the voice's id.
Its `echo_id` is the caller's character (Echo) that speaks with it (the most recently changed
one when several do), `audio_file_path` and `file_type` are its first reference's cleaned file
name and what that file was (a video's audio track is used).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.models import Role, User
from voxhub.accounts.principal import Principal
from voxhub.characters import service as characters
from voxhub.characters.models import Character
from voxhub.chats.models import ChatMessageRow
from voxhub.core.errors import CharacterNotFound, Forbidden, UserNotFound, VoiceNotFound
from voxhub.core.ids import is_id
from voxhub.voices import service as voices
from voxhub.voices.models import Voice

UserId = Field(None, max_length=64, description="Your voxhub user id (another's: admins only)")


class VoiceModelRecord(BaseModel):
    id: str = Field(alias="_id", serialization_alias="_id")
    user_id: str | None
    model_id: str
    name: str
    audio_file_path: str
    file_type: str
    echo_id: str | None
    created_at: str = Field(description='UTC, as "2024-01-15T10:30:00.000Z"')


class EchoRecord(BaseModel):
    id: str = Field(alias="_id", serialization_alias="_id")
    user_id: str
    name: str
    persona_prompt: str
    voice_model_id: str | None
    created_at: str


class MessageRecord(BaseModel):
    id: str = Field(alias="_id", serialization_alias="_id")
    echo_id: str
    user_id: str
    role: str
    content: str
    created_at: str


class UserRecord(BaseModel):
    id: str = Field(alias="_id", serialization_alias="_id")
    email: str
    name: str
    created_at: str


def stamp(at: datetime) -> str:
    """The seed's timestamp: UTC, milliseconds, a `Z`."""
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


async def acting_as(session: AsyncSession, p: Principal, user_id: str | None) -> Principal:
    """Who a seed `user_id` speaks for: the caller, or (admins only) that existing user.

    Anyone else's id answers as a user that does not exist, so ids cannot be probed.
    """
    if user_id is None or user_id == p.user_id:
        return p
    user = await session.get(User, user_id) if p.is_admin and is_id(user_id) else None
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    return Principal(user.id, Role(user.role), p.via)


async def owned_model(session: AsyncSession, model_id: str, p: Principal) -> Voice:
    """The caller's voice (an admin's: anyone's); a public voice of someone else looks missing."""
    try:
        return await voices.get_owned_voice(session, model_id, p)
    except Forbidden as exc:
        raise VoiceNotFound(f"no voice model {model_id}") from exc


async def owned_echo(session: AsyncSession, echo_id: str, p: Principal) -> Character:
    """The caller's character (an admin's: anyone's); others' look missing, public or not."""
    try:
        return await characters.get_owned_character(session, echo_id, p)
    except Forbidden as exc:
        raise CharacterNotFound(f"no echo {echo_id}") from exc


async def records(session: AsyncSession, models: Sequence[Voice]) -> list[VoiceModelRecord]:
    """The seed's records of `models`, each with the owner's Echo that speaks with it."""
    ids = [v.id for v in models]
    rows = await session.execute(
        select(Character.id, Character.voice_id, Character.owner_id)
        .where(Character.voice_id.in_(ids))
        .order_by(Character.updated_at.asc(), Character.id.asc())
    )
    # Later rows win: the most recently changed Echo of the voice's owner.
    echoes: dict[tuple[str | None, str | None], str] = {
        (voice_id, owner): echo for echo, voice_id, owner in rows.all()
    }
    return [record(v, echoes.get((v.id, v.owner_id))) for v in models]


def record(voice: Voice, echo_id: str | None) -> VoiceModelRecord:
    first = voice.references[0] if voice.references else None
    return VoiceModelRecord(
        _id=voice.id,
        user_id=voice.owner_id,
        model_id=voice.id,
        name=voice.name,
        audio_file_path=first.filename if first else "",
        file_type=first.file_type if first else "audio",
        echo_id=echo_id,
        created_at=stamp(voice.created_at),
    )


def echo_record(ch: Character) -> EchoRecord:
    return EchoRecord(
        _id=ch.id,
        user_id=ch.owner_id,
        name=ch.display_name,
        persona_prompt=ch.persona_prompt,
        voice_model_id=ch.voice_id,
        created_at=stamp(ch.created_at),
    )


def message_record(m: ChatMessageRow, echo_id: str, user_id: str) -> MessageRecord:
    return MessageRecord(
        _id=m.id,
        echo_id=echo_id,
        user_id=user_id,
        role=m.role,
        content=m.content,
        created_at=stamp(m.created_at),
    )


def user_record(u: User) -> UserRecord:
    return UserRecord(_id=u.id, email=u.email, name=u.name, created_at=stamp(u.created_at))
