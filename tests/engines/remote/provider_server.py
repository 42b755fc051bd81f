"""Loopback servers of the tests' own that speak the remote providers' documented protocols.

OpenAI: `POST /v1/audio/speech` (JSON: model, voice, input, response_format, speed; Bearer
key) answering raw 24 kHz s16le PCM. Fish Audio: `POST /model` (multipart: `voices` files,
title, visibility, type, train_mode) answering the model with its `_id`; `POST /v1/tts` (JSON:
text, reference_id, format, sample_rate; `model` header) answering the audio; `DELETE
/model/{id}`. ElevenLabs (`xi-api-key`): `POST /v1/voices/add` (multipart: `files`, `name`,
`remove_background_noise`) answering `voice_id`; `POST /v1/text-to-speech/{voice_id}/stream`
(JSON: text, model_id, voice_settings; `output_format` in the query); `DELETE
/v1/voices/{voice_id}`. Every request is recorded so tests check it field by field; `Behaviour` says
what the next answer is (an error status and body, a Retry-After, a server that never answers).
Started in a thread like tests/llm/chat_server.py."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.llm.chat_server import free_port

KEY = "sk-loopback-secret-0123456789"


@dataclass
class Behaviour:
    status: int = 200  # not 200: answer this with `error_body`
    error_body: dict[str, Any] = field(default_factory=lambda: {"message": "loopback refusal"})
    retry_after: str | None = None
    hang_s: float = 0.0  # wait this long before answering (a provider that hangs)
    seconds: float = 0.5  # audio length of each speech answer
    pieces: int = 5  # sent in this many writes, to prove chunks stream
    requests: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def tone(seconds: float, rate: int = 24_000) -> bytes:
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2").tobytes()


def _record(behaviour: Behaviour, request: Request, **parts: Any) -> None:
    behaviour.requests.append(
        {"method": request.method, "path": request.url.path, "headers": dict(request.headers)}
        | parts
    )


async def _refusal(behaviour: Behaviour, request: Request) -> Response | None:
    if behaviour.hang_s:
        await asyncio.sleep(behaviour.hang_s)
    if request.url.path.startswith(("/v1/voices", "/v1/text-to-speech")):  # ElevenLabs
        if request.headers.get("xi-api-key") != KEY:
            sent = request.headers.get("xi-api-key", "")
            detail = {"status": "invalid_api_key", "message": f"Invalid API key: {sent}"}
            return JSONResponse({"detail": detail}, 401)
    elif request.headers.get("authorization") != f"Bearer {KEY}":
        # As OpenAI does, quote part of what was sent: voxhub must not pass the key on.
        sent = request.headers.get("authorization", "")
        return JSONResponse({"error": {"message": f"Incorrect API key: {sent}"}}, 401)
    if behaviour.status != 200:
        headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
        return JSONResponse(behaviour.error_body, behaviour.status, headers=headers)
    return None


def _audio(behaviour: Behaviour, media_type: str) -> StreamingResponse:
    data = tone(behaviour.seconds)
    step = -(-len(data) // behaviour.pieces)

    async def body() -> AsyncIterator[bytes]:
        for i in range(0, len(data), step):
            yield data[i : i + step]
            await asyncio.sleep(0.01)

    return StreamingResponse(body(), media_type=media_type)


def make_app(behaviour: Behaviour) -> Starlette:
    async def openai_speech(request: Request) -> Response:
        _record(behaviour, request, json=await request.json())
        return await _refusal(behaviour, request) or _audio(behaviour, "audio/pcm")

    async def fish_create(request: Request) -> Response:
        async with request.form() as form:  # closes the spooled upload files
            files = [
                {"filename": f.filename, "type": f.content_type, "data": await f.read()}
                for f in form.getlist("voices")
                if not isinstance(f, str)
            ]
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        _record(behaviour, request, fields=fields, files=files)
        refusal = await _refusal(behaviour, request)
        if refusal is not None:
            return refusal
        model = {"_id": f"fishmodel{len(behaviour.requests)}", "type": "tts", "state": "trained"}
        return JSONResponse(model | {"title": fields.get("title"), "visibility": "private"}, 201)

    async def fish_tts(request: Request) -> Response:
        _record(behaviour, request, json=await request.json())
        return await _refusal(behaviour, request) or _audio(behaviour, "audio/pcm")

    async def fish_delete(request: Request) -> Response:
        _record(behaviour, request)
        refusal = await _refusal(behaviour, request)
        if refusal is not None:
            return refusal
        behaviour.deleted.append(request.path_params["model_id"])
        return Response(status_code=200)

    async def eleven_add(request: Request) -> Response:
        async with request.form() as form:
            files = [
                {"filename": f.filename, "type": f.content_type, "data": await f.read()}
                for f in form.getlist("files")
                if not isinstance(f, str)
            ]
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        _record(behaviour, request, fields=fields, files=files)
        refusal = await _refusal(behaviour, request)
        if refusal is not None:
            return refusal
        voice_id = f"elevenvoice{len(behaviour.requests)}"
        return JSONResponse({"voice_id": voice_id, "requires_verification": False})

    async def eleven_tts(request: Request) -> Response:
        _record(behaviour, request, json=await request.json(), query=dict(request.query_params))
        return await _refusal(behaviour, request) or _audio(behaviour, "audio/pcm")

    async def eleven_delete(request: Request) -> Response:
        _record(behaviour, request)
        refusal = await _refusal(behaviour, request)
        if refusal is not None:
            return refusal
        behaviour.deleted.append(request.path_params["voice_id"])
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/voices/add", eleven_add, methods=["POST"]),
            Route("/v1/text-to-speech/{voice_id}/stream", eleven_tts, methods=["POST"]),
            Route("/v1/voices/{voice_id}", eleven_delete, methods=["DELETE"]),
            Route("/v1/audio/speech", openai_speech, methods=["POST"]),
            Route("/model", fish_create, methods=["POST"]),
            Route("/v1/tts", fish_tts, methods=["POST"]),
            Route("/model/{model_id}", fish_delete, methods=["DELETE"]),
        ]
    )


@dataclass
class RunningServer:
    base_url: str  # no path: OpenAI's base is base_url + "/v1", Fish Audio's is base_url
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
            raise RuntimeError("loopback provider server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", behaviour)
    finally:
        server.should_exit = True
        thread.join(10)
