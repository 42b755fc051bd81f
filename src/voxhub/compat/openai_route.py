"""The OpenAI face's error shape, so the `openai` SDK raises its own exception types.

The SDK picks the exception class from the status alone (400 `BadRequestError`, 401
`AuthenticationError`, 403 `PermissionDeniedError`, 404 `NotFoundError`, 409 `ConflictError`,
422 `UnprocessableEntityError`, 429 `RateLimitError`, 5xx `InternalServerError`) and reads the
message, type, param and code from `{"error": {...}}`. So every refusal keeps the status and
headers (Retry-After, WWW-Authenticate) voxhub's own handlers give it and only the body changes;
`code` stays voxhub's stable code. Request validation answers 400, as OpenAI does for a missing
or malformed parameter, naming the parameter.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from voxhub.compat.faces import AppAnswer, FaceErrors, field_path, validation_message
from voxhub.compat.seed004_body import OffLoopJsonRoute
from voxhub.core.errors import VoxhubError

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}


def error_type(status: int) -> str:
    """OpenAI's `error.type` for a status."""
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 402:
        return "insufficient_quota"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def openai_error(
    status: int, message: str, code: str | None, param: str | None = None, **headers: str
) -> JSONResponse:
    """An error in OpenAI's shape."""
    body = {"error": {"message": message, "type": error_type(status), "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _param(exc: RequestValidationError) -> str | None:
    return next((where for err in exc.errors() if (where := field_path(err))), None)


class OpenAIRoute(FaceErrors, OffLoopJsonRoute):
    """A route of the OpenAI face: bodies parsed off the loop, errors in OpenAI's shape."""

    # What the OpenAPI document says its errors look like (voxhub.api.openapi).
    error_schema_name = "OpenAIError"
    error_schema = ERROR_SCHEMA

    def validation_error(self, exc: RequestValidationError) -> Response:
        return openai_error(400, validation_message(exc), "invalid_request", _param(exc))

    def refusal(self, answer: AppAnswer, exc: VoxhubError | HTTPException) -> Response:
        param = exc.extra.get("param") if isinstance(exc, VoxhubError) else None
        return openai_error(
            answer.status,
            answer.message,
            answer.code,
            param if isinstance(param, str) else None,
            **answer.headers,
        )
