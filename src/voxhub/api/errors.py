"""The one map from domain errors to HTTP: `application/problem+json` (RFC 9457) with a `code`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from voxhub.api.allow import allowed_methods
from voxhub.core import errors as e

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"

# Most specific first: the first matching class wins.
STATUS: list[tuple[type[e.VoxhubError], int]] = [
    (e.NotFound, 404),
    (e.Unauthenticated, 401),
    (e.Forbidden, 403),
    (e.NotAcceptable, 406),
    (e.PayloadTooLarge, 413),
    (e.TextTooLong, 413),
    (e.UnsupportedMediaType, 415),
    (e.InvalidMultipart, 400),
    (e.InvalidInput, 422),
    (e.Conflict, 409),
    (e.PaymentRequired, 402),
    (e.RateLimited, 429),
    (e.EngineUnavailable, 503),
    (e.EngineTimeout, 504),
    (e.EngineAuthFailed, 502),
    (e.EngineRejected, 502),
    (e.EngineFailure, 500),
    (e.LlmUnavailable, 503),
    (e.LlmBadOutput, 502),
    (e.LlmFailure, 502),
]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def status_for(exc: e.VoxhubError) -> int:
    """The HTTP status for a domain error."""
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "code": code}
    body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def domain_problem(exc: e.VoxhubError, status: int | None = None) -> JSONResponse:
    """The problem+json response for a domain error."""
    extra = {
        k: v
        for k, v in exc.extra.items()
        if isinstance(v, str | int | float | bool | None)
        or (isinstance(v, list) and all(isinstance(x, str) for x in v))
    }
    return problem(status or status_for(exc), exc.code, exc.title, exc.message, **extra)


def validation_problem(exc: RequestValidationError, status: int = 422) -> JSONResponse:
    """Request validation failures, with each field's error (inputs are not echoed back)."""
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    detail = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errors)
    return problem(status, "validation_error", "Invalid request", detail, errors=errors)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    async def on_domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, e.VoxhubError)
        resp = domain_problem(exc)
        if isinstance(exc, e.RateLimited):
            headers = exc.extra.get("headers")
            if isinstance(headers, dict):
                resp.headers.update(headers)
            resp.headers["Retry-After"] = str(exc.extra.get("retry_after", 60))
        if isinstance(exc, e.EngineUnavailable) and "retry_after" in exc.extra:
            resp.headers["Retry-After"] = str(int(exc.extra["retry_after"]))
        if isinstance(exc, e.LlmUnavailable):
            resp.headers["Retry-After"] = str(int(exc.extra.get("retry_after", 5)))
        if isinstance(exc, e.Unauthenticated):
            error = "invalid_token" if isinstance(exc, e.InvalidTokenError) else "invalid_request"
            resp.headers["WWW-Authenticate"] = f'Bearer realm="voxhub", error="{error}"'
        return resp

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        resp = problem(exc.status_code, code, code.replace("_", " ").capitalize(), str(exc.detail))
        if exc.headers:
            resp.headers.update(exc.headers)
        if exc.status_code == 405 and (allow := allowed_methods(request)):
            resp.headers["Allow"] = allow
        return resp

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "Internal error", "An unexpected error occurred.")

    app.add_exception_handler(e.VoxhubError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
