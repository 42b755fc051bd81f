"""The ElevenLabs face's error shape: `{"detail": {"status": ..., "message": ...}}`.

The `elevenlabs` SDK parses no field of an error body: it raises `UnprocessableEntityError` for
a 422 and `ApiError` for any other status, with the status code, headers and the JSON body as
`body`. So the status is what a client's code branches on, and it stays the one voxhub's own
handlers give (404 unknown voice, 413 text over the limit, 401, 402, 429 with Retry-After, 503);
the body takes the shape the real API answers with, `status` being voxhub's stable error code.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from voxhub.api.forms import FormRoute
from voxhub.compat.faces import AppAnswer, FaceErrors, validation_message
from voxhub.compat.seed004_body import OffLoopJsonRoute
from voxhub.core.errors import VoxhubError

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {"status": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def xi_error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    """An error in ElevenLabs' shape."""
    body = {"detail": {"status": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers or None)


class ElevenLabsRoute(FaceErrors, FormRoute, OffLoopJsonRoute):
    """A route of the ElevenLabs face: form limits as everywhere, JSON bodies parsed off the
    loop, errors in ElevenLabs' shape (so documented: `voxhub.api.openapi` reads these two)."""

    error_schema_name = "ElevenLabsError"
    error_schema = ERROR_SCHEMA

    def validation_error(self, exc: RequestValidationError) -> Response:
        return xi_error(422, "invalid_request", validation_message(exc))

    def refusal(self, answer: AppAnswer, exc: VoxhubError | HTTPException) -> Response:
        return xi_error(answer.status, answer.code, answer.message, **answer.headers)
