"""Seed 000's Echos: a voxhub character (persona prompt + voice), its voice model, its messages.

`POST /api/echo` makes a private character of the caller's (or, for an admin, of `user_id`)
speaking with the voice model `voice_model_id`. The Echo's messages are one chat thread per user
and Echo over voxhub's chats (the caller's newest thread with that character; the first message
starts one): `GET` lists them oldest first, `POST {"content": ...}` stores the message and
answers with the Echo's reply, written by the configured LLM. When the model cannot answer
(loading, endpoint down) the answer is 503 with `Retry-After` and the kept message's
`message_id`: posting again asks again. Echos are the caller's own: anyone else's answers 404
`{"error": "Echo not found"}`.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.accounts.principal import Principal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.validation import parse
from voxhub.characters import service as characters
from voxhub.characters.models import Character
from voxhub.characters.schemas import MAX_PERSONA, CharacterCreate
from voxhub.chats import replies
from voxhub.chats import service as chats
from voxhub.chats.models import ChatMessageRow, ChatThread
from voxhub.chats.schemas import MAX_MESSAGE_CHARS, MessageCreate, ThreadCreate
from voxhub.compat.seed000_route import Seed000Route
from voxhub.compat.seed000_shapes import (
    EchoRecord,
    MessageRecord,
    VoiceModelRecord,
    acting_as,
    echo_record,
    message_record,
    owned_echo,
    record,
)
from voxhub.core.errors import VoiceNotFound, VoxhubError
from voxhub.voices import service as voices

router = APIRouter(tags=["compat: seed 000"], route_class=Seed000Route)
MAX_MESSAGES = 200
ECHO_MISSING: dict[int | str, dict[str, Any]] = {
    404: {"description": '{"error": "Echo not found"}'}
}


class Seed000EchoCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    user_id: str | None = Field(None, max_length=64, description="Yours (another's: admins)")
    name: str = Field(min_length=1, max_length=200)
    persona_prompt: str = Field("", max_length=MAX_PERSONA)
    voice_model_id: str = Field(min_length=1, max_length=64)


class Seed000Echo(BaseModel):
    success: bool
    echo: EchoRecord


class Seed000EchoVoiceModel(BaseModel):
    voice_model: VoiceModelRecord


class Seed000MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class Seed000Messages(BaseModel):
    messages: list[MessageRecord]
    count: int


class Seed000Exchange(BaseModel):
    success: bool
    message: MessageRecord
    reply: MessageRecord


@router.post(
    "/api/echo",
    status_code=status.HTTP_201_CREATED,
    response_model=Seed000Echo,
    responses={404: {"description": "No such user, or voice model they may use"}},
)
async def create_echo(
    body: Seed000EchoCreate, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Seed000Echo:
    """Create an Echo: a persona that speaks with a voice model."""
    who = await acting_as(session, p, body.user_id)
    data = parse(
        CharacterCreate,
        display_name=body.name,
        persona_prompt=body.persona_prompt,
        voice_id=body.voice_model_id,
    )
    echo = await characters.create_character(c, session, data, who)
    return Seed000Echo(success=True, echo=echo_record(echo))


@router.get(
    "/api/echo/{echo_id}/voice-model",
    response_model=Seed000EchoVoiceModel,
    responses={404: {"description": "No such Echo of yours, or it has no voice model"}},
)
async def echo_voice_model(
    echo_id: str, session: SessionDep, p: CurrentPrincipal
) -> Seed000EchoVoiceModel:
    """The voice model an Echo speaks with."""
    echo = await owned_echo(session, echo_id, p)
    if echo.voice_id is None:
        raise VoiceNotFound(f"echo {echo_id} has no voice model")
    voice = await voices.get_voice(session, echo.voice_id, p)
    return Seed000EchoVoiceModel(voice_model=record(voice, echo.id))


async def _thread(session: AsyncSession, echo: Character, p: Principal) -> ChatThread | None:
    found, _ = await chats.list_threads(session, p, echo.id, 1, None)
    return found[0] if found else None


@router.get("/api/echo/{echo_id}/messages", response_model=Seed000Messages, responses=ECHO_MISSING)
async def list_messages(
    echo_id: str,
    session: SessionDep,
    p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=MAX_MESSAGES)] = 100,
) -> Seed000Messages:
    """Your conversation with an Echo: the latest `limit` messages, oldest first."""
    echo = await owned_echo(session, echo_id, p)
    thread = await _thread(session, echo, p)
    rows = (await chats.list_messages(session, thread, limit, None))[0] if thread else []
    shaped = [message_record(m, echo.id, p.user_id) for m in reversed(rows)]
    return Seed000Messages(messages=shaped, count=len(shaped))


@router.post(
    "/api/echo/{echo_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=Seed000Exchange,
    responses=ECHO_MISSING
    | {
        402: {"description": "Not enough credits for a reply"},
        503: {"description": "The model cannot answer now; the message is kept (message_id)"},
    },
)
async def post_message(
    echo_id: str,
    body: Seed000MessageCreate,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
) -> Seed000Exchange:
    """Say something to an Echo and get its reply."""
    content = parse(MessageCreate, content=body.content).content  # the chats' own checks
    echo = await owned_echo(session, echo_id, p)
    thread = await _thread(session, echo, p)
    if thread is None:
        thread = await chats.create_thread(session, ThreadCreate(character_id=echo.id), p)
    question = await chats.add_user_message(session, thread, content)
    asked = message_record(question, echo.id, p.user_id)
    answered = await _reply(c, session, thread, question, p)
    return Seed000Exchange(
        success=True, message=asked, reply=message_record(answered, echo.id, p.user_id)
    )


async def _reply(
    c: ContainerDep,
    session: AsyncSession,
    thread: ChatThread,
    question: ChatMessageRow,
    p: Principal,
) -> ChatMessageRow:
    try:
        plan = await replies.plan_reply(c, session, thread, question, p, None)
        await session.close()  # no session held while the model writes
        reply = None
        async with aclosing(replies.run_reply(c, plan)) as events:
            async for event in events:
                if isinstance(event, replies.Done):
                    reply = event.reply
    except VoxhubError as exc:
        exc.extra.setdefault("message_id", question.id)  # kept: posting again answers anew
        raise
    assert reply is not None, "a finished reply ends with Done"
    return reply
