"""A character's reply: asked of the LLM port, passed on piece by piece, stored when it ends.

The reply's credits (`VOXHUB_PRICE_LLM_CALL`) are held before the model is asked, keyed by the
reply's id, captured in the commit that stores the reply and released when it is not stored
(the model failed, the client went away).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

import anyio
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.chats import prompt, service
from voxhub.chats.models import ChatMessageRow, ChatThread, MessageStatus
from voxhub.container import Container
from voxhub.core.errors import LlmUnavailable, NothingToAnswer
from voxhub.core.ids import new_id
from voxhub.credits import ledger
from voxhub.credits.pricing import llm_cost
from voxhub.llm.port import LLM, Finished, TextDelta

log = logging.getLogger(__name__)


@dataclass
class ReplyPlan:
    thread_id: str
    question_id: str
    owner_id: str
    llm: LLM
    prompt: prompt.Prompt
    max_tokens: int
    reply_id: str
    cost: int


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Done:
    reply: ChatMessageRow


ReplyEvent = Delta | Done


def the_llm(c: Container) -> LLM:
    if c.llm is None:
        raise LlmUnavailable("no language model is configured", retry_after=60)
    return c.llm


async def plan_reply(
    c: Container,
    session: AsyncSession,
    thread: ChatThread,
    question: ChatMessageRow,
    p: Principal,
    max_tokens: int | None,
) -> ReplyPlan:
    """The prompt for answering `question` and its credits held (402 before the model runs)."""
    llm = the_llm(c)
    character = await service.character_of(session, thread, p)
    cap = c.settings.llm.llm_max_reply_tokens
    tokens = min(max_tokens or cap, cap)
    history = await service.history(session, thread.id)
    built = prompt.build(llm, character, history, tokens)
    plan = ReplyPlan(thread.id, question.id, thread.owner_id, llm, built, tokens, new_id(), 0)
    cost = llm_cost(c.settings.credits)
    if cost:
        await ledger.reserve(c.sessions, thread.owner_id, plan.reply_id, cost, "chat reply")
        plan.cost = cost
    return plan


async def run_reply(c: Container, plan: ReplyPlan) -> AsyncGenerator[ReplyEvent, None]:
    """`Delta`s as the model writes, then `Done` with the stored reply. Leaving early (the client
    went away) stops the model, stores nothing and gives the credits back."""
    started = time.perf_counter()
    first_ms: int | None = None
    parts: list[str] = []
    finished: Finished | None = None
    stored = False
    try:
        events = plan.llm.stream(plan.prompt.messages, max_tokens=plan.max_tokens)
        async with aclosing(events):  # type: ignore[type-var]
            async for event in events:
                if isinstance(event, TextDelta):
                    if first_ms is None:
                        first_ms = round((time.perf_counter() - started) * 1000)
                    parts.append(event.text)
                    yield Delta(event.text)
                else:
                    finished = event
        assert finished is not None, "an LLM stream ends with Finished"
        duration_ms = round((time.perf_counter() - started) * 1000)
        reply = await _store(c, plan, "".join(parts), finished, first_ms, duration_ms)
        stored = True
        yield Done(reply)
    finally:
        if not stored:
            await _release(c, plan)


async def _store(
    c: Container,
    plan: ReplyPlan,
    text: str,
    finished: Finished,
    first_ms: int | None,
    duration_ms: int,
) -> ChatMessageRow:
    """The reply and its question answered, with the credits captured, in one commit; a
    question another reply answered meanwhile keeps that one (NothingToAnswer)."""
    async with c.sessions() as session:
        answered = await session.execute(
            update(ChatMessageRow)
            .where(
                ChatMessageRow.id == plan.question_id,
                ChatMessageRow.status == MessageStatus.unanswered,
            )
            .values(status=MessageStatus.complete)
            .execution_options(synchronize_session=False)
        )
        if answered.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            raise NothingToAnswer("another reply answered this message first")
        seq = await service.next_seq(session, plan.thread_id)
        reply = ChatMessageRow(
            id=plan.reply_id,
            thread_id=plan.thread_id,
            seq=seq,
            role="assistant",
            content=text,
            status=MessageStatus.complete,
            model=finished.model,
            tokens_in=finished.prompt_tokens,
            tokens_out=finished.completion_tokens,
            finish_reason=finished.finish_reason,
            first_token_ms=first_ms,
            duration_ms=duration_ms,
            context_dropped=plan.prompt.dropped,
        )
        session.add(reply)
        if plan.cost:
            await ledger.capture_reserved(session, plan.owner_id, plan.reply_id, "chat reply")
        await session.commit()
        return reply


async def _release(c: Container, plan: ReplyPlan) -> None:
    """Give the reply's hold back; shielded, as it runs while the request is being cancelled
    (a hold this cannot release is released by the jobs' stale-hold sweep)."""
    if not plan.cost:
        return
    with anyio.CancelScope(shield=True):
        try:
            await ledger.release_reserved(
                c.sessions, plan.owner_id, plan.reply_id, "chat reply not delivered"
            )
        except Exception:
            log.exception("could not release the hold of chat reply %s", plan.reply_id)
