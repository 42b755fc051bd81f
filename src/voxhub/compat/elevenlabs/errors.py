"""The ElevenLabs face's error shape: `{"detail": {"status": ..., "message": ...}}`.

The `elevenlabs` SDK parses no field of an error body: it raises `UnprocessableEntityError` for
a 422 and `ApiError` for any other status, with the status code, headers and the JSON body as
`body`. So the status is what a client's code branches on, and it stays the one voxhub's own
handlers give (404 unknown voice, 413 text over the limit, 401, 402, 429 with Retry-After, 503);
the body takes the shape the real API answers with, `status` being voxhub's stable error code.
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
_SKIP_HEADERS = {"content-length", "content-type"}


def xi_error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    """An error in ElevenLabs' shape."""
    body = {"detail": {"status": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        msg = err.get("msg", "invalid")
        parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


class ElevenLabsRoute(FormRoute, OffLoopJsonRoute):
    """A route of the ElevenLabs face: form limits as everywhere, JSON bodies parsed off the
    loop, errors in ElevenLabs' shape (so documented: `voxhub.api.openapi` reads these two)."""

    error_schema_name = "ElevenLabsError"
    error_schema = ERROR_SCHEMA

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except RequestValidationError as exc:
                return xi_error(422, "invalid_request", _validation_message(exc))
            except (VoxhubError, HTTPException) as exc:
                return await _reshaped(request, exc)

        return handler


async def _reshaped(request: Request, exc: VoxhubError | HTTPException) -> Response:
    # The app's own handlers decide status and headers, once, for every face.
    kind = VoxhubError if isinstance(exc, VoxhubError) else HTTPException
    problem: Response = await request.app.exception_handlers[kind](request, exc)
    headers = {k: v for k, v in problem.headers.items() if k.lower() not in _SKIP_HEADERS}
    said = json.loads(bytes(problem.body))
    return xi_error(
        problem.status_code,
        str(said.get("code") or "error"),
        str(said.get("detail") or said.get("title") or "error"),
        **headers,
    )
