"""A small OpenAI-compatible chat-completions server of the tests' own, on loopback.

It speaks the documented protocol (`POST /v1/chat/completions`, `stream: true` as server-sent
`data:` chunks ending in `data: [DONE]`, a usage chunk when `stream_options.include_usage`), so
the client under test is the real `openai` package. `Behaviour` says what the next requests get:
a reply, an error status, a delay before the first byte, a delay between chunks."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Behaviour:
    reply: str = "Hello there, I am the loopback model."
    # Answers for the next requests, in order, each used once; then `reply` again.
    replies: list[str] = field(default_factory=list)
    status: int = 200  # not 200: answer this status with an OpenAI-shaped error body
    first_byte_delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    # How each stream ended: "completed", or "disconnected" when the client went away. A new
    # Behaviour gets a new list, so a stream left over from an earlier test counts there.
    outcomes: list[str] = field(default_factory=list)

    @property
    def disconnected(self) -> int:
        return self.outcomes.count("disconnected")

    @property
    def completed(self) -> int:
        return self.outcomes.count("completed")


def pieces(text: str) -> list[str]:
    """The reply cut into 'tokens': each word with the space before it."""
    words = text.split(" ")
    return [words[0], *[" " + w for w in words[1:]]]


def chunk(model: str, content: str | None, finish: str | None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def make_app(behaviour: Behaviour) -> Starlette:
    async def completions(request: Request) -> Response:
        body = await request.json()
        behaviour.requests.append(body)
        if behaviour.first_byte_delay_s:
            await asyncio.sleep(behaviour.first_byte_delay_s)
        if behaviour.status != 200:
            error = {"error": {"message": "loopback failure", "type": "server_error"}}
            return JSONResponse(error, status_code=behaviour.status, headers={"Retry-After": "7"})
        model = body["model"]
        tokens = pieces(behaviour.replies.pop(0) if behaviour.replies else behaviour.reply)
        limit = body.get("max_tokens") or body.get("max_completion_tokens") or len(tokens)
        finish = "length" if len(tokens) > limit else "stop"
        tokens = tokens[:limit]
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(tokens)}
            return JSONResponse(
                {
                    "id": "chatcmpl-loopback",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                }
            )

        finished = {"all_sent": False}

        async def events() -> AsyncIterator[bytes]:
            yield sse(chunk(model, "", None) | {"choices": [_role_delta()]})
            for token in tokens:
                if behaviour.chunk_delay_s:
                    await asyncio.sleep(behaviour.chunk_delay_s)
                yield sse(chunk(model, token, None))
            yield sse(chunk(model, None, finish))
            if (body.get("stream_options") or {}).get("include_usage"):
                usage = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(tokens),
                    "total_tokens": prompt_tokens + len(tokens),
                }
                yield sse(chunk(model, None, None) | {"choices": [], "usage": usage})
            yield b"data: [DONE]\n\n"
            finished["all_sent"] = True

        return _CountingStream(events(), behaviour, finished)

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


class _CountingStream(StreamingResponse):
    """Counts, once the response is over, whether the client read it all or went away."""

    def __init__(
        self, body: AsyncIterator[bytes], behaviour: Behaviour, finished: dict[str, bool]
    ) -> None:
        super().__init__(body, media_type="text/event-stream")
        self.outcomes = behaviour.outcomes  # this request's test's list
        self.finished = finished

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.outcomes.append("completed" if self.finished["all_sent"] else "disconnected")


def _role_delta() -> dict[str, Any]:
    return {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}


def sse(obj: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(obj)}\n\n".encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    base_url: str
    behaviour: Behaviour


def serve(behaviour: Behaviour) -> Iterator[RunningServer]:
    """Run the server in a thread until the generator is closed."""
    port = free_port()
    config = uvicorn.Config(make_app(behaviour), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("loopback chat server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}/v1", behaviour)
    finally:
        server.should_exit = True
        thread.join(10)
