"""Seed 004's large bodies, read off the event loop: a 25 MB JSON body carrying base64 audio.

Parsing JSON and decoding base64 are single C calls that hold the GIL throughout: on the loop
they stall every other request for their whole length (about 0.3 s for 25 MB of base64), and
even from a thread they would as one call. So each runs in a thread, and base64 in chunks,
between which the loop gets the GIL back. A form may carry such base64 too (`audio_base64`):
`Base64FormRoute` lets that field (and the text it speaks) be as large as an upload.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.responses import Response

from voxhub.api.forms import form_shape, read_form
from voxhub.core.errors import PartTooLarge
from voxhub.settings import LimitSettings

# Bodies below this parse on the loop: faster there than the hop to a thread.
_OFF_LOOP_BYTES = 64 * 1024
# `json.loads` is one C call, so off the loop it must still be short: 12 million numbers in a
# 25 MB body take half a second, and every value past the first needs a comma. Seed 004's
# largest honest body is a 200,000-character text, with at most that many commas.
MAX_JSON_COMMAS = 1 << 18


class _TooManyValues(ValueError):
    pass


def _parse(body: bytes) -> Any:
    if body.count(b",") > MAX_JSON_COMMAS:
        raise _TooManyValues
    return json.loads(body)


# Base64 characters decoded per call: a multiple of 4, so each chunk decodes on its own, and a
# few milliseconds of work, so the loop never waits longer than that for the GIL.
_B64_CHUNK = 1 << 20


def _is_json(content_type: str) -> bool:
    """The content types FastAPI parses as JSON."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def parse_json_off_loop(request: Request) -> None:
    """Parse a large JSON body in a thread and leave it where FastAPI looks for it.

    Starlette's `Request.json()` keeps what it parsed in `request._json` and FastAPI reads the
    body through it, as does any dependency that calls `request.json()`: with it already set,
    nothing parses the body again on the loop. Errors are FastAPI's own answers.
    """
    if not _is_json(request.headers.get("content-type", "")):
        return
    body = await request.body()
    if len(body) < _OFF_LOOP_BYTES:
        return
    try:
        request._json = await asyncio.to_thread(_parse, body)
    except _TooManyValues as exc:
        error: dict[str, Any] = {
            "type": "json_too_many_values",
            "loc": ("body",),
            "msg": f"more than {MAX_JSON_COMMAS} JSON values",
            "input": {},
        }
        raise RequestValidationError([error]) from exc
    except json.JSONDecodeError as exc:
        error = {
            "type": "json_invalid",
            "loc": ("body", exc.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": exc.msg},
        }
        raise RequestValidationError([error]) from exc
    except ValueError as exc:  # not UTF-8 (or -16, -32): what FastAPI answers for it
        raise HTTPException(400, "There was an error parsing the body") from exc


class OffLoopJsonRoute(APIRoute):
    """A route whose JSON body is parsed in a thread when it is large (see `parse_json_off_loop`).

    Composed after `HmacRoute` (`class R(HmacRoute, OffLoopJsonRoute)`), the signature is
    checked on the raw bytes first and nothing unsigned is parsed.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        run = super().get_route_handler()

        async def handler(request: Request) -> Response:
            await parse_json_off_loop(request)
            return await run(request)

        return handler


def decode_base64(data: str) -> bytes:
    """Blocking: strict base64 (as `b64decode(validate=True)`), a data URL's prefix allowed.

    Raises `binascii.Error` or `ValueError` (non-ASCII) as `b64decode` does.
    """
    # Tolerate a data URL ("data:audio/wav;base64,...") as browsers produce them.
    start = data.find(",") + 1 if data.startswith("data:") else 0
    parts: list[bytes] = []
    for at in range(start, len(data), _B64_CHUNK):
        chunk = data[at : at + _B64_CHUNK]
        if "=" in chunk and at + _B64_CHUNK < len(data):
            raise binascii.Error("padding before the end of the data")
        parts.append(base64.b64decode(chunk, validate=True))
    return b"".join(parts)


# Seed 004's audio as base64, and the text it speaks (200,000 characters, past 64 KiB).
WIDE_FIELDS = ("audio_base64", "text_input")


def _check_narrow_fields(form: FormData, limit: int) -> None:
    """Every other text field keeps the ordinary per-field limit."""
    for name, value in form.multi_items():
        if name not in WIDE_FIELDS and isinstance(value, str) and len(value.encode()) > limit:
            raise PartTooLarge(f"a form field is larger than {limit} bytes", max_part_bytes=limit)


class Base64FormRoute(APIRoute):
    """A form route whose `WIDE_FIELDS` may be as large as an upload's base64.

    Seed 004 sends `audio_base64` (and a story's `text_input`) as form fields; voxhub's
    per-field limit (64 KiB) is for names and short texts, and still holds for every other field;
    the route's own `max_length` bounds the text."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        shape = form_shape(self)
        if shape is None:
            return original

        async def handler(request: Request) -> Response:
            limits: LimitSettings = request.app.state.container.settings.limits
            field = (limits.max_upload_bytes + 2) // 3 * 4
            wide = limits.model_copy(update={"max_form_part_bytes": field})
            form = await read_form(request, shape, wide)
            _check_narrow_fields(form, limits.max_form_part_bytes)
            return await original(request)

        return handler
