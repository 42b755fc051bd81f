"""Seed 000's error shape: `{"error": "Voice model not found"}`, for every refusal of its routes.

A missing object (or one that is not the caller's, which looks the same) answers 404 with exactly
the seed's body, worded by what is missing: "Voice model not found", "Echo not found", "User not
found". Every other refusal keeps voxhub's status and headers (Retry-After, WWW-Authenticate) and
says `{"error": <what was wrong>, "code": <voxhub's stable code>}`, plus the problem's own extras
(`message_id` of a kept chat message, limits). Request validation answers 400, as a Flask seed
does for a missing or malformed field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxhub.api.forms import FormRoute
from voxhub.core.errors import (
    CharacterNotFound,
    ChatNotFound,
    NotFound,
    UserNotFound,
    VoiceNotFound,
    VoxhubError,
)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong"},
        "code": {"type": "string", "description": "Stable, machine-readable reason (not on 404)"},
    },
    "additionalProperties": True,
}
_PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "errors"}
_SKIP_HEADERS = {"content-length", "content-type"}


def missing_message(exc: NotFound) -> str:
    """The seed's words for what is missing."""
    if isinstance(exc, VoiceNotFound):
        return "Voice model not found"
    if isinstance(exc, CharacterNotFound | ChatNotFound):
        return "Echo not found"
    if isinstance(exc, UserNotFound):
        return "User not found"
    return exc.message


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
        field = ".".join(loc)
        msg = err.get("msg", "invalid")
        parts.append(f"{field}: {msg}" if field else msg)
    return "; ".join(parts) or "invalid request"


class Seed000Route(FormRoute):
    """Seed 000's routes: voxhub's form limits, and errors in the seed's `{"error": ...}` shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except RequestValidationError as exc:
                body = {"error": _validation_message(exc), "code": "validation_error"}
                return JSONResponse(body, status_code=400)
            except (VoxhubError, HTTPException) as exc:  # HTTPException: a body that won't parse
                return await _reshaped(request, exc)

        return handler


async def _reshaped(request: Request, exc: VoxhubError | HTTPException) -> Response:
    # The app's own handlers decide status and headers, once, for every face.
    kind = VoxhubError if isinstance(exc, VoxhubError) else HTTPException
    problem: Response = await request.app.exception_handlers[kind](request, exc)
    headers = {k: v for k, v in problem.headers.items() if k.lower() not in _SKIP_HEADERS}
    said = json.loads(bytes(problem.body))
    if isinstance(exc, NotFound):
        body: dict[str, Any] = {"error": missing_message(exc)}
    else:
        body = {"error": said.get("detail", ""), "code": said.get("code", "error")}
        body |= {k: v for k, v in said.items() if k not in _PROBLEM_KEYS}
    return JSONResponse(body, status_code=problem.status_code, headers=headers)
