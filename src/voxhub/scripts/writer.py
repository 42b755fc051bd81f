"""Having the model write a script: one attempt, and one retry that is told what was wrong.

The answer is asked for under a JSON schema (constrained decoding in the embedded model,
`response_format` on an OpenAI-compatible server) and checked again here whatever the backend
promised. A model that cannot answer (LlmUnavailable) is not retried: that is the caller's 503.
"""

from __future__ import annotations

import logging
from contextlib import aclosing
from dataclasses import dataclass

from voxhub.core.errors import LlmBadOutput
from voxhub.llm.port import LLM, ChatMessage, Finished, TextDelta
from voxhub.scripts import draft, prompt
from voxhub.scripts.rules import Cast
from voxhub.text.lane import off_loop

ATTEMPTS = 2
log = logging.getLogger(__name__)


@dataclass
class Written:
    draft: draft.Draft
    model: str
    tokens_in: int
    tokens_out: int


async def write(llm: LLM, cast: Cast, request: str, lines: int) -> Written:
    """A valid draft of at most `lines` lines, or LlmBadOutput naming what was still wrong."""
    schema = prompt.schema(cast, lines)
    messages = prompt.first(cast, lines, request)
    written = Written(draft.Draft(), llm.info.model, 0, 0)
    for attempt in range(ATTEMPTS):
        answer, finished = await _ask(llm, messages, lines, schema)
        if finished is not None:
            written.model = finished.model or written.model
            written.tokens_in += finished.prompt_tokens
            written.tokens_out += finished.completion_tokens
        result = await off_loop(draft.read, answer, cast, lines)
        if finished is not None and finished.finish_reason == "length":
            result.problems.insert(0, "the answer was cut off: write fewer or shorter lines")
        if not result.problems:
            written.draft = result
            return written
        if attempt + 1 < ATTEMPTS:
            messages = prompt.retry(messages, answer, result.problems)
    raise LlmBadOutput(
        "The language model's script was still invalid after a retry: "
        + "; ".join(result.problems[:5]),
        problems=result.problems[:20],
    )


async def _ask(
    llm: LLM, messages: list[ChatMessage], lines: int, schema: dict[str, object]
) -> tuple[str, Finished | None]:
    """The answer's text and how it finished. A backend that checks the schema itself and
    refuses the answer still gives its text here: `draft.read` is the judge (it repairs what the
    schema cannot tie, such as an emotion of another speaker), and the retry shows the model
    what it wrote."""
    parts: list[str] = []
    finished: Finished | None = None
    events = llm.stream(messages, max_tokens=prompt.max_tokens(lines), json_schema=schema)
    try:
        async with aclosing(events):  # type: ignore[type-var]
            async for event in events:
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                else:
                    finished = event
    except LlmBadOutput as exc:
        log.info("the backend refused a script answer: %s %s", exc.message, exc.extra)
    return "".join(parts), finished
