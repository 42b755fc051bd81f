"""Route classes that answer some errors with the status a seed documented."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import Response

from voxhub.api.errors import domain_problem, validation_problem
from voxhub.api.forms import FormRoute
from voxhub.core.errors import AudioUndecodable, InvalidText, UnsupportedMediaType


class BadRequestRoute(FormRoute):
    """Seed 002 answers bad files, empty text and unknown formats with 400 rather than 415/422."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except RequestValidationError as exc:
                return validation_problem(exc, status=400)
            except (UnsupportedMediaType, AudioUndecodable, InvalidText) as exc:
                return domain_problem(exc, status=400)

        return handler
