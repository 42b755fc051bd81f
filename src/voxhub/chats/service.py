"""Chat threads and their messages: the only place that commits them.

A message is stored before anything is asked of the model, so a reply that fails (the model is
loading, its endpoint is down) loses nothing: the message stays `unanswered` and
`POST .../reply` answers it later. A reply is stored whole, when it has ended; one that was cut
(the client went away) is not kept, and its message stays unanswered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.activities import service as activities
from voxhub.activities.models import ActivityType
from voxhub.characters.models import Character
from voxhub.characters.queries import get_character
from voxhub.chats.models import ChatMessageRow, ChatThread, MessageStatus
from voxhub.chats.schemas import ThreadCreate
from voxhub.container import Container
from voxhub.core.errors import ChatMessageNotFound, ChatNotFound, NothingToAnswer
from voxhub.core.ids import is_id, new_id
from voxhub.core.pagination import decode_cursor, encode_cursor

HISTORY_LIMIT = 200  # messages read to build a prompt; the window holds far fewer anyway


async def create_thread(session: AsyncSession, data: ThreadCreate, p: Principal) -> ChatThread:
    """A thread with a character the caller may see (404 `character_not_found` otherwise)."""
    character = await get_character(session, data.character_id, p)
    thread = ChatThread(
        id=new_id(),  # here, not at the flush: its activity names it
        owner_id=p.user_id,
        character_id=character.id,
        title=data.title or character.display_name,
    )
    session.add(thread)
    activities.record(
        session,
        p.user_id,
        ActivityType.chat_started,
        f"Chat with {activities.quoted(character.display_name)} started",
        character_id=character.id,
        details={"chat_id": thread.id},
    )
    await session.commit()
    return thread


async def get_thread(session: AsyncSession, thread_id: str, p: Principal) -> ChatThread:
    """The caller's own thread (any, for an admin); anyone else's looks missing."""
    thread = await session.get(ChatThread, thread_id) if is_id(thread_id) else None
    if thread is None or not (thread.owner_id == p.user_id or p.is_admin):
        raise ChatNotFound(f"no chat {thread_id}", chat_id=thread_id)
    return thread


async def character_of(session: AsyncSession, thread: ChatThread, p: Principal) -> Character:
    """The thread's character, if the caller may still see it (a public one made private
    answers 404 `character_not_found`: its persona is no longer theirs to talk to)."""
    return await get_character(session, thread.character_id, p)


async def list_threads(
    session: AsyncSession,
    p: Principal,
    character_id: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[ChatThread], str | None]:
    """The caller's threads, newest first."""
    query = select(ChatThread).where(ChatThread.owner_id == p.user_id)
    if character_id:
        query = query.where(ChatThread.character_id == character_id)
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(
            or_(
                ChatThread.created_at < at,
                and_(ChatThread.created_at == at, ChatThread.id < row_id),
            )
        )
    rows = list(
        await session.scalars(
            query.order_by(ChatThread.created_at.desc(), ChatThread.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None


async def delete_thread(c: Container, session: AsyncSession, thread: ChatThread) -> None:
    """The thread, its messages and their audio."""
    keys = list(
        await session.scalars(
            select(ChatMessageRow.audio_key).where(
                ChatMessageRow.thread_id == thread.id, ChatMessageRow.audio_key.is_not(None)
            )
        )
    )
    await session.delete(thread)
    activities.record(
        session,
        thread.owner_id,
        ActivityType.chat_deleted,
        f"Chat {activities.quoted(thread.title)} deleted",
        character_id=thread.character_id,
        details={"chat_id": thread.id},
    )
    await session.commit()
    for key in keys:
        if key:
            await c.blobs.delete(key)


async def list_messages(
    session: AsyncSession, thread: ChatThread, limit: int, cursor: tuple[datetime, str] | None
) -> tuple[list[ChatMessageRow], str | None]:
    """The thread's messages, newest first; the cursor (already decoded) pages back in time."""
    query = select(ChatMessageRow).where(ChatMessageRow.thread_id == thread.id)
    if cursor:
        at, row_id = cursor
        query = query.where(
            or_(
                ChatMessageRow.created_at < at,
                and_(ChatMessageRow.created_at == at, ChatMessageRow.id < row_id),
            )
        )
    # In time order, which is the thread's order too: a reply is made after its message.
    order = (ChatMessageRow.created_at.desc(), ChatMessageRow.id.desc())
    rows = list(await session.scalars(query.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None


async def get_message(session: AsyncSession, thread: ChatThread, message_id: str) -> ChatMessageRow:
    message = await session.get(ChatMessageRow, message_id) if is_id(message_id) else None
    if message is None or message.thread_id != thread.id:
        raise ChatMessageNotFound(f"chat {thread.id} has no message {message_id}")
    return message


async def next_seq(session: AsyncSession, thread_id: str) -> int:
    """The thread's next place, taken under its row lock (the UPDATE), so two messages posted
    at once never share one."""
    count = await session.scalar(
        update(ChatThread)
        .where(ChatThread.id == thread_id)
        .values(message_count=ChatThread.message_count + 1)
        .returning(ChatThread.message_count)
        .execution_options(synchronize_session=False)
    )
    if count is None:
        raise ChatNotFound(f"no chat {thread_id}", chat_id=thread_id)
    return int(count) - 1


async def add_user_message(
    session: AsyncSession, thread: ChatThread, content: str
) -> ChatMessageRow:
    """Store what the user wrote, unanswered until its reply is stored."""
    seq = await next_seq(session, thread.id)
    message = ChatMessageRow(
        thread_id=thread.id,
        seq=seq,
        role="user",
        content=content,
        status=MessageStatus.unanswered,
    )
    session.add(message)
    await session.commit()
    return message


async def last_unanswered(session: AsyncSession, thread: ChatThread) -> ChatMessageRow:
    """The message a reply would answer: the thread's last, if it is an unanswered one."""
    last = await session.scalar(
        select(ChatMessageRow)
        .where(ChatMessageRow.thread_id == thread.id)
        .order_by(ChatMessageRow.seq.desc())
        .limit(1)
    )
    if last is None or last.role != "user" or last.status != MessageStatus.unanswered:
        raise NothingToAnswer("the thread's last message already has its reply", chat_id=thread.id)
    return last


async def history(session: AsyncSession, thread_id: str) -> Sequence[ChatMessageRow]:
    """The newest messages, oldest first, as a prompt shows them."""
    rows = list(
        await session.scalars(
            select(ChatMessageRow)
            .where(ChatMessageRow.thread_id == thread_id)
            .order_by(ChatMessageRow.seq.desc())
            .limit(HISTORY_LIMIT)
        )
    )
    return rows[::-1]
