"""Validate models built inside a route (e.g. from form fields) as request errors, not 500s."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], loc: str = "body", **fields: Any) -> M:
    """`model(**fields)`, with failures reported like FastAPI's own request validation."""
    try:
        return model(**fields)
    except ValidationError as exc:
        errors = [{**err, "loc": (loc, *err["loc"])} for err in exc.errors(include_input=False)]
        raise RequestValidationError(errors) from exc
