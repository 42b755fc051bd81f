"""Any OpenAI-compatible chat-completions endpoint (llama.cpp server, Ollama, vLLM, OpenAI),
through the official `openai` client: `VOXHUB_LLM_BASE_URL`, `VOXHUB_LLM_API_KEY`,
`VOXHUB_LLM_MODEL`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import openai
from openai import Omit

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.shared_params import ResponseFormatJSONSchema

from voxhub.core.errors import LlmBadOutput, LlmFailure, LlmUnavailable
from voxhub.llm.port import ChatMessage, Finished, FinishReason, LLMInfo, StreamEvent, TextDelta
from voxhub.llm.schema import check_json
from voxhub.settings import LlmSettings

log = logging.getLogger(__name__)
DEFAULT_CONTEXT = 8192  # when the operator does not say; most 3B+ instruct models hold more
# Statuses that say "not now" (overloaded, restarting, misconfigured key or model): retry later.
_UNAVAILABLE = {401, 403, 404, 408, 409, 429}


class OpenAICompatLLM:
    """Chat replies from an OpenAI-compatible server, streamed chunk by chunk."""

    def __init__(self, settings: LlmSettings) -> None:
        if not settings.llm_model:
            raise ValueError("VOXHUB_LLM_BACKEND=openai needs VOXHUB_LLM_MODEL")
        self._settings = settings
        self._model = settings.llm_model
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none"
        # No retries inside the client: a retry would double the wait past the timeout the
        # operator set, and the caller answers 503 with Retry-After instead.
        self._client = openai.AsyncOpenAI(
            base_url=settings.llm_base_url,
            api_key=key,
            timeout=settings.llm_timeout_s,
            max_retries=0,
        )
        self._info = LLMInfo(
            name="openai",
            model=self._model,
            context_tokens=settings.llm_context_tokens or DEFAULT_CONTEXT,
        )

    @property
    def info(self) -> LLMInfo:
        return self._info

    @property
    def ready(self) -> bool:
        return True  # whether the server is up shows on the first request

    async def load(self) -> None:
        """Nothing to load: the server holds the model."""

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        # The server's tokenizer is not known here; ~4 characters a token plus each turn's
        # framing is what OpenAI documents as a rule of thumb, and errs on the long side.
        return sum(len(m.content) // 4 + 4 for m in messages) + 2

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.7,
        json_schema: dict[str, Any] | None = None,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Stream the reply; see `voxhub.llm.port` for the rules."""
        limit = max(1, min(max_tokens, self._settings.llm_max_reply_tokens))
        turns = cast(
            "list[ChatCompletionMessageParam]",
            [{"role": m.role, "content": m.content} for m in messages],
        )
        try:
            response = await self._client.chat.completions.create(
                model=self._model,
                messages=turns,
                max_tokens=limit,
                temperature=temperature,
                stream=True,
                stream_options={"include_usage": True},
                response_format=_response_format(json_schema),
                stop=list(stop) if stop else openai.omit,
                seed=seed if seed is not None else openai.omit,
            )
        except openai.OpenAIError as exc:
            raise _translate(exc) from exc
        text: list[str] = []
        reason: FinishReason = "stop"
        prompt_tokens = completion_tokens = 0
        model = self._model
        try:
            async for chunk in response:
                model = chunk.model or model
                if chunk.usage is not None:
                    prompt_tokens = chunk.usage.prompt_tokens or 0
                    completion_tokens = chunk.usage.completion_tokens or 0
                for choice in chunk.choices:
                    if choice.delta.content:
                        text.append(choice.delta.content)
                        yield TextDelta(choice.delta.content)
                    if choice.finish_reason == "length":
                        reason = "length"
        except openai.OpenAIError as exc:
            raise _translate(exc) from exc
        finally:
            # Closing the response stops the server generating for a client that went away.
            await response.close()
        if json_schema is not None and reason == "stop":
            check_json("".join(text), json_schema)
        yield Finished(reason, prompt_tokens, completion_tokens, model)

    async def aclose(self) -> None:
        await self._client.close()


def _response_format(json_schema: dict[str, Any] | None) -> ResponseFormatJSONSchema | Omit:
    # Not "strict": OpenAI's strict mode refuses schemas without additionalProperties false,
    # and llama.cpp, Ollama and vLLM constrain their decoding to the schema either way.
    if json_schema is None:
        return openai.omit
    return {"type": "json_schema", "json_schema": {"name": "reply", "schema": json_schema}}


def _translate(exc: openai.OpenAIError) -> LlmFailure:
    """The domain error for what the client raised."""
    if isinstance(exc, openai.APITimeoutError):
        return LlmUnavailable("The language model did not answer in time.", retry_after=10)
    if isinstance(exc, openai.APIConnectionError):
        return LlmUnavailable("The language model server cannot be reached.", retry_after=10)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        log.warning("LLM endpoint answered %s: %s", status, exc.message)
        if status >= 500 or status in _UNAVAILABLE:
            retry = exc.response.headers.get("retry-after", "")
            return LlmUnavailable(
                f"The language model server answered {status}.",
                retry_after=int(retry) if retry.isdigit() else 10,
            )
        return LlmBadOutput(f"The language model server refused the request ({status}).")
    return LlmBadOutput("The language model server sent an unreadable reply.")
