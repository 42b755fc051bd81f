"""Routes that answer errors in another API's shape (seed 000, OpenAI, ElevenLabs).

voxhub's own handlers decide every refusal's status and headers (Retry-After, WWW-Authenticate,
rate-limit headers) once, for every face; a face only rewrites the body. `FaceErrors` is the
mixin that does it: a route class lists it first and says how its API words a refusal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from voxhub.core.errors import VoxhubError

# The headers of voxhub's own answer that the face's body does not replace.
_BODY_HEADERS = {"content-length", "content-type"}


@dataclass(frozen=True)
class AppAnswer:
    """What voxhub's own handlers answered a refusal with."""

    status: int
    headers: dict[str, str]
    problem: dict[str, Any]  # the problem+json body: code, title, detail and the error's extras

    @property
    def code(self) -> str:
        return str(self.problem.get("code") or "error")

    @property
    def message(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "error")


async def app_answer(request: Request, exc: VoxhubError | HTTPException) -> AppAnswer:
    """Voxhub's own answer to `exc`, taken apart."""
    kind = VoxhubError if isinstance(exc, VoxhubError) else HTTPException
    problem: Response = await request.app.exception_handlers[kind](request, exc)
    headers = {k: v for k, v in problem.headers.items() if k.lower() not in _BODY_HEADERS}
    return AppAnswer(problem.status_code, headers, json.loads(bytes(problem.body)))


def field_path(err: Any) -> str:
    """Where a validation error is, without FastAPI's `body`/`query`/`path` prefix."""
    return ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))


def validation_message(exc: RequestValidationError) -> str:
    """Each field's complaint, in one line."""
    parts = []
    for err in exc.errors():
        where, msg = field_path(err), err.get("msg", "invalid")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "invalid request"


class FaceErrors(APIRoute):
    """Mixin for a face's route class: refusals keep voxhub's status and headers and take the
    face's body. Subclasses implement the two answers."""

    def validation_error(self, exc: RequestValidationError) -> Response:
        raise NotImplementedError

    def refusal(self, answer: AppAnswer, exc: VoxhubError | HTTPException) -> Response:
        raise NotImplementedError

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except RequestValidationError as exc:
                return self.validation_error(exc)
            except (VoxhubError, HTTPException) as exc:  # HTTPException: a body that won't parse
                return self.refusal(await app_answer(request, exc), exc)

        return handler
