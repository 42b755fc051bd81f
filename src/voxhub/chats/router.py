"""/api/v1/chats: threads with a character, their messages, and replies written by the LLM.

`POST /api/v1/chats/{id}/messages` stores the message, then answers it: as server-sent events
(`message`: the stored message; `delta`: each piece of the reply as it is written; `done`: the
stored reply; `error`: a problem after the stream began), or with `"stream": false` as one JSON
body. When the model cannot answer (loading, its endpoint down) the answer is 503
`llm_unavailable` with `Retry-After` and the message's id: it is kept, and
`POST /api/v1/chats/{id}/reply` answers it later.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.audio.encode import FORMATS, MULAW_DEFAULT_RATE
from voxhub.chats import replies, service
from voxhub.chats.models import ChatMessageRow
from voxhub.chats.replies import Delta, Done, ReplyEvent, SpeakingFailed, Spoken
from voxhub.chats.schemas import (
    ExchangeRead,
    MessageCreate,
    MessagePage,
    ReplyOptions,
    ThreadCreate,
    ThreadPage,
    ThreadRead,
)
from voxhub.chats.views import message_read, sse
from voxhub.container import Container
from voxhub.core.errors import ChatMessageNotFound, LlmFailure, VoxhubError
from voxhub.core.pagination import decode_cursor
from voxhub.safety.legacy import ensure_marked
from voxhub.safety.marking import generated_headers

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/chats", tags=["chats"])
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": "No such chat of yours (`chat_not_found`)"}}
REPLY: Responses = NOT_FOUND | {
    200: {
        "description": "Server-sent events: `message`, `delta`..., `done` (or `error`)",
        "content": {"text/event-stream": {}},
    },
    402: {"description": "Not enough credits for a reply (`insufficient_credits`)"},
    404: {"description": "No such chat, or its character is no longer visible to you"},
    503: {"description": "The model cannot answer now (`llm_unavailable`, `Retry-After`)"},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ThreadRead,
    responses={404: {"description": "No such character visible to you"}},
)
async def create_chat(data: ThreadCreate, session: SessionDep, p: CurrentPrincipal) -> ThreadRead:
    """Start a chat with a character (yours or a public one)."""
    return ThreadRead.model_validate(await service.create_thread(session, data, p))


@router.get("", response_model=ThreadPage)
async def list_chats(
    session: SessionDep,
    p: CurrentPrincipal,
    character_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ThreadPage:
    """Your chats, newest first, paginated by cursor."""
    rows, nxt = await service.list_threads(session, p, character_id, limit, cursor)
    return ThreadPage(items=[ThreadRead.model_validate(t) for t in rows], next_cursor=nxt)


@router.get("/{chat_id}", response_model=ThreadRead, responses=NOT_FOUND)
async def get_chat(chat_id: str, session: SessionDep, p: CurrentPrincipal) -> ThreadRead:
    return ThreadRead.model_validate(await service.get_thread(session, chat_id, p))


@router.delete(
    "/{chat_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
async def delete_chat(
    chat_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """Delete a chat with its messages and their audio."""
    await service.delete_thread(c, session, await service.get_thread(session, chat_id, p))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{chat_id}/messages", response_model=MessagePage, responses=NOT_FOUND)
async def list_messages(
    chat_id: str,
    session: SessionDep,
    p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> MessagePage:
    """The chat's messages, newest first; `next_cursor` pages back in time."""
    after = decode_cursor(cursor) if cursor else None  # a forged cursor is 422 whatever the chat
    thread = await service.get_thread(session, chat_id, p)
    rows, nxt = await service.list_messages(session, thread, limit, after)
    return MessagePage(items=[message_read(m) for m in rows], next_cursor=nxt)


@router.get(
    "/{chat_id}/messages/{message_id}/audio",
    response_class=Response,
    responses=NOT_FOUND
    | {
        200: {"description": "The spoken reply", "content": {"audio/mpeg": {}}},
        404: {"description": "No such chat or message, or the message was not spoken"},
    },
)
async def get_message_audio(
    chat_id: str, message_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """The audio of a reply spoken with `"speak": true`."""
    thread = await service.get_thread(session, chat_id, p)
    message = await service.get_message(session, thread, message_id)
    if not message.audio_key or not message.audio_format:
        raise ChatMessageNotFound(f"message {message_id} has no audio", message_id=message_id)
    data = await c.blobs.get(message.audio_key)
    # A reply stored before outputs were marked is marked as it leaves.
    data = await ensure_marked(
        c,
        session,
        data,
        message.audio_format,
        raw_rate(c, message.audio_format),
        kind="chat",
        object_id=message.id,
        owner_id=thread.owner_id,
    )
    media_type = FORMATS[message.audio_format].media_type
    return Response(data, media_type=media_type, headers=generated_headers(message.id))


def raw_rate(c: Container, fmt: str) -> int | None:
    """The rate a spoken reply's headerless PCM or mu-law was written at (`encode`'s default
    with the default engine, which chats speak with); None for formats with a header."""
    if fmt == "mulaw":
        return MULAW_DEFAULT_RATE
    return c.engines.get().info.sample_rate if fmt == "pcm" else None


@router.post("/{chat_id}/messages", response_model=ExchangeRead, responses=REPLY)
async def post_message(
    chat_id: str, data: MessageCreate, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """Say something to the character and get its reply."""
    thread = await service.get_thread(session, chat_id, p)
    await service.character_of(session, thread, p)  # 404 before anything is stored
    question = await service.add_user_message(session, thread, data.content)
    speak = data.audio_format if data.speak else None
    return await _answer(c, session, chat_id, question, p, data.stream, data.max_tokens, speak)


@router.post("/{chat_id}/reply", response_model=ExchangeRead, responses=REPLY)
async def reply(
    chat_id: str,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    data: ReplyOptions | None = None,
) -> Response:
    """Answer the chat's last message, if it has no reply yet (409 `nothing_to_answer`)."""
    options = data or ReplyOptions()
    thread = await service.get_thread(session, chat_id, p)
    question = await service.last_unanswered(session, thread)
    speak = options.audio_format if options.speak else None
    return await _answer(
        c, session, chat_id, question, p, options.stream, options.max_tokens, speak
    )


async def _answer(
    c: ContainerDep,
    session: SessionDep,
    chat_id: str,
    question: ChatMessageRow,
    p: CurrentPrincipal,
    stream: bool,
    max_tokens: int | None,
    speak: str | None,
) -> Response:
    asked = message_read(question)
    thread = await service.get_thread(session, chat_id, p)
    try:
        plan = await replies.plan_reply(c, session, thread, question, p, max_tokens, speak)
        await session.close()  # no session held while the model writes
        events = replies.run_reply(c, plan)
        first = await anext(events)  # a model that cannot start answers with its status
    except VoxhubError as exc:
        exc.extra.setdefault("message_id", question.id)  # kept: `.../reply` answers it later
        raise
    if not stream:
        reply_row = first.reply if isinstance(first, Done) else None
        async with aclosing(events):
            async for event in events:
                if isinstance(event, Done):
                    reply_row = event.reply
        assert reply_row is not None
        body = ExchangeRead(message=asked, reply=message_read(reply_row))
        return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_201_CREATED)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    if plan.speaker is not None:  # the stream carries the reply's marked audio clips
        headers |= generated_headers(plan.reply_id)
    return StreamingResponse(
        _sse(asked, first, events), media_type="text/event-stream", headers=headers
    )


async def _sse(
    asked: Any, first: ReplyEvent, events: AsyncGenerator[ReplyEvent, None]
) -> AsyncGenerator[bytes, None]:
    try:
        yield sse("message", asked)
        try:
            yield _event(first)
            async for event in events:
                yield _event(event)
        except (LlmFailure, VoxhubError) as exc:  # after the 200: say so in the stream
            yield sse("error", {"code": exc.code, "title": exc.title, "detail": exc.message})
    finally:
        # Shielded: a client that hung up cancels this task, and that cancellation would
        # otherwise cut the close short, leaving the model running and the credits held.
        with anyio.CancelScope(shield=True):
            await events.aclose()


def _event(event: ReplyEvent) -> bytes:
    if isinstance(event, Delta):
        return sse("delta", {"text": event.text})
    if isinstance(event, Spoken):
        clip = event.clip
        return sse(
            "audio",
            {
                "index": clip.index,
                "text": clip.text,
                "duration_s": round(clip.duration_s, 3),
                "audio_base64": base64.b64encode(clip.data).decode(),
            },
        )
    if isinstance(event, SpeakingFailed):  # the text goes on; the reply is stored silent
        return sse("audio_error", {"code": event.code, "detail": event.message})
    return sse("done", message_read(event.reply))
