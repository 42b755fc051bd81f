"""ElevenLabs' text-in streaming: `WS /v1/text-to-speech/{voice_id}/stream-input`.

Text arrives as it is typed (an LLM's tokens): `{"text": " ", "xi_api_key"?, "voice_settings"?}`
first, then `{"text": "...", "flush"?: true}`, and `{"text": ""}` to end. Text is spoken a
sentence at a time: when a sentence end has arrived, when told to `flush`, or at the end. Each
piece is an ordinary voxhub streamed generation (priced, limited, cached, recorded); its audio
goes out as `{"audio": base64, "isFinal": null, "alignment": {"chars", "charStartTimesMs",
"charDurationsMs"}, "normalizedAlignment": ...}` with times from the start of the connection's
audio, and `{"isFinal": true}` closes it. Refusals send `{"message", "error"}` and close with a
documented code (see `close_code`); nothing is left running when a client leaves.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from voxhub.accounts.deps import resolve_principal
from voxhub.accounts.principal import Principal
from voxhub.api.errors import status_for
from voxhub.compat.elevenlabs.formats import engine_for_model, parse_output_format
from voxhub.container import Container
from voxhub.core.errors import InvalidText, RateLimited, Unauthenticated, VoxhubError
from voxhub.synthesis.alignment import Aligner, Chars, spoken_chars
from voxhub.synthesis.holds import reserve
from voxhub.synthesis.schemas import SpeechRequest
from voxhub.synthesis.service import plan_speech
from voxhub.synthesis.streaming import paid_stream

router = APIRouter(prefix="/v1/text-to-speech")
IDLE_S = 20.0  # ElevenLabs closes a connection that sends no text for 20 s; so does voxhub
CLOSE_DONE = 1000
CLOSE_GARBAGE = 1007  # a message that is not a JSON object with a string `text`
CLOSE_TOO_MUCH = 1009  # more text waiting than one request may speak, with no sentence end
CLOSE_ENGINE = 1011
CLOSE_IDLE = 4408
_SENTENCE_END = re.compile(r"[.!?…](?:[\"')\]]*)\s")


def close_code(exc: VoxhubError) -> int:
    """4000 + the HTTP status voxhub answers the refusal with (4401, 4402, 4404, 4413, 4422,
    4429, 4503); an engine failure is 1011."""
    status = status_for(exc)
    return CLOSE_ENGINE if status >= 500 and status != 503 else 4000 + status


class _Closed(Exception):
    def __init__(self, code: int, message: str, error: str) -> None:
        super().__init__(message)
        self.code, self.message, self.error = code, message, error


@router.websocket("/{voice_id}/stream-input")
async def stream_input(
    websocket: WebSocket,
    voice_id: str,
    model_id: str | None = None,
    output_format: str | None = None,
) -> None:
    """Speak text as it arrives, a sentence at a time, with character timings."""
    c: Container = websocket.app.state.container
    await websocket.accept()
    try:
        await _Session(c, websocket, voice_id, model_id, output_format).run()
    except WebSocketDisconnect:
        return  # the client left; `paid_stream` has released what was held
    except _Closed as closed:
        await _refuse(websocket, closed.code, closed.message, closed.error)
    except VoxhubError as exc:
        await _refuse(websocket, close_code(exc), exc.message, exc.code)


async def _refuse(websocket: WebSocket, code: int, message: str, error: str) -> None:
    try:
        await websocket.send_json({"message": message, "error": error, "code": code})
        await websocket.close(code, message[:120])
    except (WebSocketDisconnect, RuntimeError):
        pass  # already gone


class _Session:
    def __init__(
        self, c: Container, ws: WebSocket, voice_id: str, model: str | None, fmt: str | None
    ) -> None:
        self.c, self.ws, self.voice_id = c, ws, voice_id
        self.format = parse_output_format(fmt)
        self.engine = engine_for_model(c, model)
        self.speed = 1.0
        self.buffer = ""
        self.clock = 0.0  # seconds of audio sent so far

    async def run(self) -> None:
        first = await self._receive()
        self.principal = await self._principal(first)
        settings = first.get("voice_settings")
        if isinstance(settings, dict) and isinstance(settings.get("speed"), int | float):
            self.speed = float(settings["speed"])
        self.buffer = str(first["text"]).lstrip()
        while True:
            message = await self._receive()
            text = message["text"]
            if text == "":
                await self._speak(self.buffer)
                await self.ws.send_json({"isFinal": True})
                await self.ws.close(CLOSE_DONE)
                return
            self.buffer += text
            if message.get("flush") is True:
                ready, self.buffer = self.buffer, ""
            else:
                ready, self.buffer = _sentences(self.buffer)
            if len(self.buffer) > self.c.settings.limits.max_text_chars:
                raise _Closed(CLOSE_TOO_MUCH, "too much text without a sentence end", "too_long")
            await self._speak(ready)

    async def _receive(self) -> dict[str, Any]:
        try:
            raw = await asyncio.wait_for(self.ws.receive_text(), IDLE_S)
        except TimeoutError as exc:
            raise _Closed(CLOSE_IDLE, f"no text for {IDLE_S:.0f} s", "input_timeout") from exc
        except KeyError as exc:  # a binary frame: Starlette finds no "text" in it
            raise _Closed(CLOSE_GARBAGE, "send JSON text frames", "invalid_message") from exc
        try:
            message = json.loads(raw)
        except ValueError as exc:
            raise _Closed(CLOSE_GARBAGE, "a message is not JSON", "invalid_message") from exc
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            raise _Closed(CLOSE_GARBAGE, 'send {"text": "..."}', "invalid_message")
        return message

    async def _principal(self, first: dict[str, Any]) -> Principal:
        headers = dict(self.ws.headers)
        key = first.get("xi_api_key")
        if isinstance(key, str) and key:
            headers["xi-api-key"] = key
        async with self.c.sessions() as session:
            # Resolved as a state-changing request: a socket cannot send the CSRF token, so the
            # web app's session cookie alone does not open one (a sibling site could), a key does.
            principal = await resolve_principal(self.c, session, headers, "POST")
        if principal is None:
            raise Unauthenticated("send an API key (xi-api-key header or xi_api_key)")
        return principal

    async def _speak(self, text: str) -> None:
        if not text.strip():
            return
        # Each piece is a generation of its own: it counts as one `tts` request, so a socket
        # held open cannot speak more than the HTTP routes would let the same caller.
        if self.c.limiter.enabled:
            decision = await self.c.limiter.hit("tts", f"user:{self.principal.user_id}")
            if not decision.allowed:
                raise RateLimited("rate limit 'tts' reached", retry_after=decision.reset_s)
        try:
            req = SpeechRequest(
                voice_id=self.voice_id[:64],
                text=text,
                format=self.format.format,  # type: ignore[arg-type]
                sample_rate=self.format.sample_rate,
                speed=self.speed,
                engine=self.engine,
            )
            plan = await plan_speech(self.c, req, self.principal, delivery="stream")
        except InvalidText:
            return  # nothing speakable in it (punctuation alone): nothing to say
        except ValidationError as exc:
            raise _Closed(4422, str(exc.errors()[0]["msg"]), "invalid_input") from exc
        plan.cached = None  # each piece is spoken, so its words are timed afresh
        tapped = plan.clock  # the stream notes the engine's words here as they pass
        await reserve(self.c, plan)
        aligner, fed, start = Aligner(text), 0, self.clock
        chunks = paid_stream(self.c, plan)
        try:
            async for data in chunks:
                words, fed = tapped.words[fed:], len(tapped.words)
                # Matching words to the text and base64 of the audio take a core for a while
                # on a long piece: in a thread, one at a time (the aligner keeps its place).
                await self._send(await asyncio.to_thread(_piece, aligner, data, words, start))
            rest, end = tapped.words[fed:], start + tapped.seconds
            await self._send(await asyncio.to_thread(_piece, aligner, b"", rest, start, end))
        finally:
            await chunks.aclose()
        self.clock = start + tapped.seconds  # its words are stored with its generation

    async def _send(self, message: dict[str, Any] | None) -> None:
        if message is not None:
            await self.ws.send_json(message)


def _piece(
    aligner: Aligner, data: bytes, words: Any, start: float, end: float | None = None
) -> dict[str, Any] | None:
    """The message for a piece of audio and the words it says (`end`: the last one, which
    times the text's remaining characters); None when it carries nothing."""
    chars = aligner.feed(_shifted(words, start))
    if end is not None:
        chars.extend(aligner.finish(end))
    if not data and not chars.characters:
        return None
    return {
        "audio": base64.b64encode(data).decode() if data else None,
        "isFinal": None,
        "alignment": _ms(chars),
        "normalizedAlignment": _ms(spoken_chars(_shifted(words, start), False)),
    }


def _sentences(buffer: str) -> tuple[str, str]:
    """(whole sentences, the rest) of what has arrived."""
    ends = list(_SENTENCE_END.finditer(buffer))
    if not ends:
        return "", buffer
    cut = ends[-1].end()
    return buffer[:cut], buffer[cut:]


def _shifted(words: Any, by: float) -> list[tuple[str, float, float]]:
    return [(w, s + by, e + by) for w, s, e in words]


def _ms(chars: Chars) -> dict[str, Any] | None:
    """ElevenLabs' WebSocket alignment: characters, start times and durations in ms."""
    if not chars.characters:
        return None
    return {
        "chars": chars.characters,
        "charStartTimesMs": [round(s * 1000) for s in chars.starts],
        "charDurationsMs": [
            round((e - s) * 1000) for s, e in zip(chars.starts, chars.ends, strict=True)
        ],
    }
