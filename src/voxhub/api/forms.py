"""Form bodies are parsed once, with voxhub's limits, before FastAPI reads them.

FastAPI parses `Form`/`File` parameters with Starlette's defaults (1,000 files, 1,000 fields,
1 MiB per part): only some FastAPI releases accept limits at all, and older ones swallow an
unknown `FastAPI(form_limits=...)` without a word. `FormRoute` parses the form itself through
Starlette's `Request.form(max_files=, max_fields=, max_part_size=)`; Starlette keeps the parsed
form on the request, so FastAPI's own parse that follows reuses it instead of reading again.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from fastapi import params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from voxhub.core.errors import (
    InvalidMultipart,
    PartTooLarge,
    TooManyFields,
    TooManyFiles,
    VoxhubError,
)
from voxhub.settings import LimitSettings

log = logging.getLogger(__name__)
_MANY = (list, tuple, set, frozenset, Sequence)


@dataclass(frozen=True)
class FormShape:
    """The file fields a route declares: one-file fields by name, and whether any takes many."""

    single: tuple[str, ...]
    many: bool

    def max_files(self, limits: LimitSettings) -> int:
        # A route without a list of files can use one file per one-file field, no more.
        return limits.max_files_per_upload if self.many else len(self.single)


def form_shape(route: APIRoute) -> FormShape | None:
    """The route's file fields, or None when its body is not a form."""
    if route.body_field is None or not isinstance(route.body_field.field_info, params.Form):
        return None
    single: list[str] = []
    many = False
    for field in _body_params(route.dependant):
        if isinstance(field.field_info, params.File):
            if _takes_many(field.field_info.annotation):
                many = True
            else:
                single.append(field.alias)
    return FormShape(tuple(single), many)


async def read_form(request: Request, shape: FormShape, limits: LimitSettings) -> FormData:
    """The request's form, parsed within `limits`; a refusal is a domain error with its code."""
    max_files = shape.max_files(limits)
    try:
        form = await request.form(
            max_files=max_files,
            max_fields=limits.max_form_fields,
            max_part_size=limits.max_form_part_bytes,
        )
    except HTTPException as exc:
        # Starlette reports every form refusal as a 400 whose text names the limit hit.
        raise _refusal(str(exc.detail), max_files, limits) from exc
    for name in shape.single:
        if len(form.getlist(name)) > 1:
            await form.close()
            raise TooManyFiles(f"'{name}' takes one file", field=name, max_files=1)
    return form


class FormRoute(APIRoute):
    """A route whose form body is parsed with the configured limits before anything else."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        shape = form_shape(self)
        if shape is None:
            return original

        async def handler(request: Request) -> Response:
            limits: LimitSettings = request.app.state.container.settings.limits
            await read_form(request, shape, limits)
            return await original(request)

        return handler


def _refusal(detail: str, max_files: int, limits: LimitSettings) -> VoxhubError:
    if detail.startswith("Too many files"):
        return TooManyFiles(f"at most {max_files} files in one request", max_files=max_files)
    if detail.startswith("Too many fields"):
        n = limits.max_form_fields
        return TooManyFields(f"at most {n} form fields in one request", max_fields=n)
    if "exceeded maximum size" in detail:
        n = limits.max_form_part_bytes
        return PartTooLarge(f"a form field is larger than {n} bytes", max_part_bytes=n)
    # The parser's own text (boundary, part headers, framing) goes to the log, not to the client.
    log.info("malformed form body: %s", detail)
    return InvalidMultipart("the form body is malformed (boundary, part headers or framing)")


def _body_params(dependant: Dependant) -> list[Any]:
    fields = list(dependant.body_params)
    for sub in dependant.dependencies:
        fields += _body_params(sub)
    return fields


def _takes_many(annotation: Any) -> bool:
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_takes_many(arg) for arg in get_args(annotation))
    origin = get_origin(annotation)
    return isinstance(origin, type) and issubclass(origin, _MANY)
