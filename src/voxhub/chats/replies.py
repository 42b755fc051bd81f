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
from voxhub.activities import service as activities
from voxhub.activities.models import ActivityType
from voxhub.audio.encode import FORMATS
from voxhub.audit import service as audit
from voxhub.chats import prompt, service
from voxhub.chats.models import ChatMessageRow, ChatThread, MessageStatus
from voxhub.chats.voice import Clip, SentenceCutter, Speaker, Voicing, speaker_for
from voxhub.container import Container
from voxhub.core.errors import LlmUnavailable, NothingToAnswer
from voxhub.core.ids import new_id
from voxhub.credits import ledger
from voxhub.credits.pricing import llm_cost, speech_cost
from voxhub.credits.service import check_affordable
from voxhub.llm.port import LLM, Finished, TextDelta
from voxhub.safety.marking import note_output, output_tags

log = logging.getLogger(__name__)
# Characters a reply token stands for at most, to bound what its speech could cost up front.
CHARS_PER_TOKEN = 6


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
    speaker: Speaker | None = None  # speak the reply as it is written
    character_id: str | None = None  # who answers, for the reply's activity
    character_name: str = ""


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Spoken:
    clip: Clip


@dataclass(frozen=True)
class SpeakingFailed:
    code: str
    message: str


@dataclass(frozen=True)
class Done:
    reply: ChatMessageRow


ReplyEvent = Delta | Spoken | SpeakingFailed | Done


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
    speak: str | None = None,
) -> ReplyPlan:
    """The prompt for answering `question` and its credits held (402 before the model runs);
    with `speak` (an audio format) the character's voice too."""
    llm = the_llm(c)
    character = await service.character_of(session, thread, p)
    cap = c.settings.llm.llm_max_reply_tokens
    tokens = min(max_tokens or cap, cap)
    history = await service.history(session, thread.id)
    built = prompt.build(llm, character, history, tokens)
    plan = ReplyPlan(thread.id, question.id, thread.owner_id, llm, built, tokens, new_id(), 0)
    plan.character_id, plan.character_name = character.id, character.display_name
    cost = llm_cost(c.settings.credits)
    if speak:
        plan.speaker = await speaker_for(c, session, character, p, speak)
        # Speech is paid by what was spoken, when the reply is stored; refuse now what the
        # longest possible reply could not pay for, rather than cut its audio at the end.
        longest = speech_cost(c.settings.credits, tokens * CHARS_PER_TOKEN)
        await check_affordable(c, thread.owner_id, cost + longest)
    if cost:
        await ledger.reserve(c.sessions, thread.owner_id, plan.reply_id, cost, "chat reply")
        plan.cost = cost
    return plan


async def run_reply(c: Container, plan: ReplyPlan) -> AsyncGenerator[ReplyEvent, None]:
    """`Delta`s as the model writes (and `Spoken` sentences, when speaking), then `Done` with
    the stored reply. Leaving early (the client went away) stops the model and the voice,
    stores nothing and gives the credits back."""
    started = time.perf_counter()
    first_ms: int | None = None
    parts: list[str] = []
    finished: Finished | None = None
    stored = False
    voicing = Voicing(plan.speaker, output_tags(plan.reply_id)) if plan.speaker else None
    cutter = SentenceCutter()
    try:
        if voicing:
            voicing.start()
        events = plan.llm.stream(plan.prompt.messages, max_tokens=plan.max_tokens)
        async with aclosing(events):  # type: ignore[type-var]
            async for event in events:
                if isinstance(event, TextDelta):
                    if first_ms is None:
                        first_ms = round((time.perf_counter() - started) * 1000)
                    parts.append(event.text)
                    yield Delta(event.text)
                    if voicing:
                        voicing.say(cutter.feed(event.text))
                        for clip in voicing.ready():
                            yield Spoken(clip)
                else:
                    finished = event
        assert finished is not None, "an LLM stream ends with Finished"
        if voicing:
            voicing.say(cutter.rest())
            async for clip in voicing.rest():
                yield Spoken(clip)
            if voicing.failed:
                yield SpeakingFailed(voicing.failed.code, voicing.failed.message)
        duration_ms = round((time.perf_counter() - started) * 1000)
        reply = await _store(c, plan, "".join(parts), finished, first_ms, duration_ms, voicing)
        stored = True
        yield Done(reply)
    finally:
        if voicing:
            await voicing.cancel()
        if not stored:
            await _release(c, plan)


async def _store(
    c: Container,
    plan: ReplyPlan,
    text: str,
    finished: Finished,
    first_ms: int | None,
    duration_ms: int,
    voicing: Voicing | None,
) -> ChatMessageRow:
    """The reply and its question answered, with the credits captured (and its audio stored
    and paid), in one commit; a question another reply answered meanwhile keeps that one
    (NothingToAnswer)."""
    audio = await voicing.whole() if voicing else None
    key = None
    if audio is not None and voicing is not None:
        key = f"chats/{plan.thread_id}/{plan.reply_id}.{voicing.extension}"
        await c.blobs.put(key, audio, FORMATS[voicing.speaker.format].media_type)
    try:
        timing = (first_ms, duration_ms)
        return await _commit_reply(c, plan, text, finished, timing, key, audio, voicing)
    except BaseException:
        if key:
            await c.blobs.delete(key)
        raise


async def _commit_reply(
    c: Container,
    plan: ReplyPlan,
    text: str,
    finished: Finished,
    timing: tuple[int | None, int],
    audio_key: str | None,
    audio: bytes | None,
    voicing: Voicing | None,
) -> ChatMessageRow:
    first_ms, duration_ms = timing
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
            audio_key=audio_key,
            audio_format=voicing.speaker.format if audio_key and voicing else None,
        )
        session.add(reply)
        if plan.cost:
            await ledger.capture_reserved(session, plan.owner_id, plan.reply_id, "chat reply")
        if audio_key and audio and voicing:
            media_type = FORMATS[voicing.speaker.format].media_type
            for data in (audio, *voicing.sent):  # the whole reply and each clip sent
                await note_output(
                    session,
                    data,
                    kind="chat",
                    object_id=plan.reply_id,
                    owner_id=plan.owner_id,
                    media_type=media_type,
                )
            audit.record(
                session,
                "chat_reply_spoken",
                actor_id=plan.owner_id,
                target_type="chat_message",
                target_id=plan.reply_id,
                chat_id=plan.thread_id,
                character_id=plan.character_id,
                characters=voicing.spoken_chars,
            )
            spoken = speech_cost(c.settings.credits, voicing.spoken_chars)
            await ledger.charge(session, plan.owner_id, plan.reply_id, spoken, "chat reply voice")
        # One activity per answered message, not per chat: each reply is a paid call (seed 001
        # logs what costs tokens), and an unanswered message, which costs nothing, logs none.
        activities.record(
            session,
            plan.owner_id,
            ActivityType.chat_message,
            f"{activities.quoted(plan.character_name)} replied in a chat",
            character_id=plan.character_id,
            details={"chat_id": plan.thread_id, "message_id": plan.question_id},
        )
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
