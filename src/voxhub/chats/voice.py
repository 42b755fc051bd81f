"""Speaking a reply in its character's voice while the model is still writing it.

The reply's text is cut into sentences as it arrives; each finished sentence goes to the
engine at once (one at a time, in order, on a task of its own, so the text keeps streaming),
and its audio is sent as soon as it exists. The whole reply's audio is stored with the reply.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.audio.encode import FORMATS, Tags, encode
from voxhub.characters.models import Character
from voxhub.container import Container
from voxhub.core.errors import CharacterVoiceless, VoxhubError
from voxhub.engines.base import Engine, SynthesisParams, VoiceProfile
from voxhub.safety.marking import marked
from voxhub.safety.watermark import Watermarker
from voxhub.text.normalize import normalize_text
from voxhub.text.split import split_sentences
from voxhub.voices.profiles import profile_for
from voxhub.voices.queries import get_voice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Speaker:
    engine: Engine
    profile: VoiceProfile
    params: SynthesisParams
    format: str
    watermarker: Watermarker


async def speaker_for(
    c: Container, session: AsyncSession, character: Character, p: Principal, fmt: str
) -> Speaker:
    """The character's voice, ready to speak (its profile made now if it is stale)."""
    if character.voice_id is None:
        raise CharacterVoiceless(
            f"character {character.id} has no voice to speak with", character_id=character.id
        )
    voice = await get_voice(session, character.voice_id, p)
    engine = c.engines.get()
    profile = await profile_for(c, session, voice, engine)
    params = SynthesisParams(speed=character.speed, language=voice.language or "en")
    return Speaker(engine, profile, params, fmt, c.watermarker)


_CLAUSE_END = re.compile(r"[,;:—]\s")
FIRST_CLAUSE_WORDS = 4


class SentenceCutter:
    """Gives back the sentences of a growing text once they are finished. The first piece may
    be a clause (from four words up to a comma, semicolon, colon or dash), so the first audio
    does not wait for a long first sentence to end."""

    def __init__(self) -> None:
        self._pending = ""
        self._started = False

    def feed(self, text: str) -> list[str]:
        self._pending += text
        sentences = split_sentences(self._pending)
        if len(sentences) < 2:
            return self._first_clause()  # the last sentence may still grow
        done, last = sentences[:-1], sentences[-1]
        self._pending = self._pending[self._pending.rindex(last) :]
        self._started = True
        return done

    def _first_clause(self) -> list[str]:
        if self._started:
            return []
        for match in _CLAUSE_END.finditer(self._pending):
            clause = self._pending[: match.start() + 1]
            if len(clause.split()) >= FIRST_CLAUSE_WORDS:
                self._pending = self._pending[match.end() :]
                self._started = True
                return [clause.strip()]
        return []

    def rest(self) -> list[str]:
        rest, self._pending = self._pending, ""
        return split_sentences(rest)


@dataclass(frozen=True)
class Clip:
    """One sentence spoken: its encoded audio, for the listener."""

    index: int
    text: str
    data: bytes
    duration_s: float


@dataclass
class Voicing:
    """Speaks sentences in order on a task of its own; `clips` fills as they are spoken."""

    speaker: Speaker
    # The container tags of every clip and of the whole (the reply's id).
    tags: Tags = field(default_factory=dict)
    clips: asyncio.Queue[Clip] = field(default_factory=asyncio.Queue)
    samples: list[np.ndarray] = field(default_factory=list)
    # Each clip as it was sent, so the reply's commit notes them all: a listener who saves a
    # clip can trace it to this instance (POST /api/v1/detect), as with the whole reply.
    sent: list[bytes] = field(default_factory=list)
    spoken_chars: int = 0
    failed: VoxhubError | None = None
    _todo: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="chat-reply-voice")

    def say(self, sentences: list[str]) -> None:
        for sentence in sentences:
            self._todo.put_nowait(sentence)

    async def rest(self) -> AsyncIterator[Clip]:
        """The remaining clips as they are spoken, once the text has ended."""
        self._todo.put_nowait(None)
        task = self._task
        while task is not None:
            if not self.clips.empty():
                yield self.clips.get_nowait()
                continue
            if task.done():
                task.result()  # an unexpected engine error surfaces here
                return
            waiting = asyncio.ensure_future(self.clips.get())
            done, _ = await asyncio.wait({waiting, task}, return_when=asyncio.FIRST_COMPLETED)
            if waiting in done:
                yield waiting.result()
            else:
                waiting.cancel()

    async def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def rate(self) -> int:
        return self.speaker.engine.info.sample_rate

    async def _run(self) -> None:
        index = 0
        while (sentence := await self._todo.get()) is not None:
            if self.failed is not None:
                continue  # speaking stopped; the text goes on without it
            text = normalize_text(sentence)
            if not text:
                continue
            try:
                pieces = [
                    chunk.samples
                    async for chunk in self.speaker.engine.synthesize(
                        text, self.speaker.profile, self.speaker.params
                    )
                ]
            except VoxhubError as exc:
                log.warning("chat reply: speaking stopped (%s)", exc.code)
                self.failed = exc
                continue
            samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
            # Marked one sentence at a time: the clips go out as they are spoken, and the
            # whole reply is these marked samples joined (never marked twice).
            samples = await marked(self.speaker.watermarker, samples, self.rate)
            fmt = self.speaker.format
            data = await asyncio.to_thread(encode, samples, self.rate, fmt, None, self.tags)
            self.samples.append(samples)
            self.spoken_chars += len(text)
            self.sent.append(data)
            self.clips.put_nowait(Clip(index, sentence, data, len(samples) / self.rate))
            index += 1

    def ready(self) -> list[Clip]:
        out = []
        while not self.clips.empty():
            out.append(self.clips.get_nowait())
        return out

    async def whole(self) -> bytes | None:
        """Everything spoken, as one file of the speaker's format (None if nothing was)."""
        if not self.samples:
            return None
        joined = np.concatenate(self.samples)
        fmt = self.speaker.format
        return await asyncio.to_thread(encode, joined, self.rate, fmt, None, self.tags)

    @property
    def extension(self) -> str:
        return FORMATS[self.speaker.format].extension
