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

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

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
_SKIP_HEADERS = {"content-length", "content-type"}


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
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        if loc:
            return ".".join(loc)
    return None


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        msg = err.get("msg", "invalid")
        parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


class OpenAIRoute(OffLoopJsonRoute):
    """A route of the OpenAI face: bodies parsed off the loop, errors in OpenAI's shape."""

    # What the OpenAPI document says its errors look like (voxhub.api.openapi).
    error_schema_name = "OpenAIError"
    error_schema = ERROR_SCHEMA

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except RequestValidationError as exc:
                return openai_error(400, _validation_message(exc), "invalid_request", _param(exc))
            except (VoxhubError, HTTPException) as exc:
                return await _reshaped(request, exc)

        return handler


async def _reshaped(request: Request, exc: VoxhubError | HTTPException) -> Response:
    # The app's own handlers decide status and headers, once, for every face.
    kind = VoxhubError if isinstance(exc, VoxhubError) else HTTPException
    problem: Response = await request.app.exception_handlers[kind](request, exc)
    headers = {k: v for k, v in problem.headers.items() if k.lower() not in _SKIP_HEADERS}
    said = json.loads(bytes(problem.body))
    param = exc.extra.get("param") if isinstance(exc, VoxhubError) else None
    return openai_error(
        problem.status_code,
        str(said.get("detail") or said.get("title") or "error"),
        str(said.get("code") or "error"),
        param if isinstance(param, str) else None,
        **headers,
    )
