"""Seed 000's error shape: `{"error": "Voice model not found"}`, for every refusal of its routes.

A missing object (or one that is not the caller's, which looks the same) answers 404 with exactly
the seed's body, worded by what is missing: "Voice model not found", "Echo not found", "User not
found". Every other refusal keeps voxhub's status and headers (Retry-After, WWW-Authenticate) and
says `{"error": <what was wrong>, "code": <voxhub's stable code>}`, plus the problem's own extras
(`message_id` of a kept chat message, limits). Request validation answers 400, as a Flask seed
does for a missing or malformed field.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from voxhub.api.forms import FormRoute
from voxhub.compat.faces import AppAnswer, FaceErrors, validation_message
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


def missing_message(exc: NotFound) -> str:
    """The seed's words for what is missing."""
    if isinstance(exc, VoiceNotFound):
        return "Voice model not found"
    if isinstance(exc, CharacterNotFound | ChatNotFound):
        return "Echo not found"
    if isinstance(exc, UserNotFound):
        return "User not found"
    return exc.message


class Seed000Route(FaceErrors, FormRoute):
    """Seed 000's routes: voxhub's form limits, and errors in the seed's `{"error": ...}` shape."""

    def validation_error(self, exc: RequestValidationError) -> Response:
        body = {"error": validation_message(exc), "code": "validation_error"}
        return JSONResponse(body, status_code=400)

    def refusal(self, answer: AppAnswer, exc: VoxhubError | HTTPException) -> Response:
        if isinstance(exc, NotFound):
            body: dict[str, Any] = {"error": missing_message(exc)}
        else:
            body = {"error": answer.problem.get("detail", ""), "code": answer.code}
            body |= {k: v for k, v in answer.problem.items() if k not in _PROBLEM_KEYS}
        return JSONResponse(body, status_code=answer.status, headers=answer.headers)
