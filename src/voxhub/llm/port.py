"""The LLM port: what chat, characters and scripts call to have a language model write.

    llm = open_llm(settings)            # voxhub.llm.factory; the container holds one
    await llm.load()                    # idempotent; may take a while (embedded model)
    async with aclosing(llm.stream(messages, max_tokens=200)) as events:
        async for event in events:
            if isinstance(event, TextDelta): ...   # a piece of the reply, in order
            else: ...                              # Finished: why it stopped, token counts

Rules every implementation keeps:
- `stream` yields `TextDelta`s then exactly one `Finished`, last. `finish_reason` is "length"
  when the reply hit `max_tokens` (or the configured cap, whichever is lower), else "stop".
- `json_schema` (a JSON Schema object) asks for a reply that is one JSON value matching it; the
  caller still parses it. A reply that cannot be made to match raises `LlmBadOutput`.
- Nothing blocks the event loop. Leaving the iteration early (`aclose`, a cancelled task)
  stops generation promptly: the embedded model stops decoding, an HTTP request is closed.
- The model cannot answer (still loading, endpoint down, slow past the timeout, 5xx):
  `LlmUnavailable`, before or during the stream. Callers keep what the user sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation. The system turn is the persona; users never write it."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class LLMInfo:
    """What is answering: backend name, model id, and its window (prompt plus reply)."""

    name: str
    model: str
    context_tokens: int


@dataclass(frozen=True, slots=True)
class TextDelta:
    """The next piece of the reply."""

    text: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The end of a reply; token counts are 0 where the backend did not report them."""

    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    model: str


StreamEvent = TextDelta | Finished


class LLM(Protocol):
    """A language model that writes chat replies (see the module docstring for the rules)."""

    @property
    def info(self) -> LLMInfo: ...

    @property
    def ready(self) -> bool:
        """Whether `stream` can answer now without waiting for a load."""
        ...

    async def load(self) -> None: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.7,
        json_schema: dict[str, Any] | None = None,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """`seed` makes sampling repeatable where the backend can, best effort as OpenAI's is
        (the embedded model's cached and uncached prefills round differently)."""
        ...

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens the prompt for `messages` takes (an estimate where the backend cannot say).
        Additive: `count([])` is the reply's opening, and each turn adds its own cost, so a
        caller can fit a history to `info.context_tokens` one message at a time."""
        ...

    async def aclose(self) -> None: ...


async def complete(
    llm: LLM,
    messages: Sequence[ChatMessage],
    *,
    max_tokens: int,
    temperature: float = 0.7,
    json_schema: dict[str, Any] | None = None,
    seed: int | None = None,
) -> tuple[str, Finished]:
    """The whole reply at once: for callers that do not stream (scripts, JSON answers)."""
    parts: list[str] = []
    finished: Finished | None = None
    events = llm.stream(
        messages,
        max_tokens=max_tokens,
        temperature=temperature,
        json_schema=json_schema,
        seed=seed,
    )
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            else:
                finished = event
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    assert finished is not None, "an LLM stream ends with Finished"
    return "".join(parts), finished
