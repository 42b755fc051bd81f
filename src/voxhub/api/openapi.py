"""The OpenAPI document lists every answer a route gives: its errors as problem+json, its auth.

FastAPI documents the success response and a 422 shaped like its own validation error; voxhub
answers every error as `application/problem+json` (RFC 9457) and refuses in layers a route does
not declare (credentials, rate limits, the body cap, the form limits). This completes each
operation from what its route depends on, so clients and schemathesis can hold the API to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant

from voxhub.accounts.deps import require_principal
from voxhub.api.errors import PROBLEM
from voxhub.compat.routes import BadRequestRoute
from voxhub.compat.seed000_route import ERROR_SCHEMA, Seed000Route
from voxhub.compat.seed004_checks import document_model_types
from voxhub.safety.consent_form import mark_required
from voxhub.safety.standing_router import standing_caller
from voxhub.security.hmac import internal_principal

Schema = dict[str, Any]

PROBLEM_SCHEMA: Schema = {
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "Stable, machine-readable reason"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "With `validation_error`: what was wrong with each field",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
SECURITY_SCHEMES: Schema = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`vxh_...`), an access token, or an OIDC identity token",
    },
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
# Answers that depend on what a route does, not on its shape (ids in a body, the engine, logins).
EXTRA: dict[tuple[str, str], set[int]] = {
    ("POST", "/api/v1/speech"): {404, 406, 503},  # 406: `timings: true`, Accept neither
    ("POST", "/voices/{voice_id}/synthesize"): {503},
    ("POST", "/api/tts/generate"): {404, 503},
    ("POST", "/api/v1/auth/signup"): {409},
    ("POST", "/api/signup"): {409},
    ("POST", "/api/v1/auth/login"): {401},
    ("POST", "/api/login"): {401},
    ("POST", "/api/v1/auth/refresh"): {401},
    ("POST", "/api/refresh-token"): {401},
    ("POST", "/api/v1/auth/login-link"): {401},
    # The web app's cookie session: 403 when the CSRF header does not match the session.
    ("POST", "/api/v1/auth/web/signup"): {409},
    ("POST", "/api/v1/auth/web/login"): {401},
    ("POST", "/api/v1/auth/web/login-link"): {401},
    ("POST", "/api/v1/auth/web/refresh"): {401, 403},
    ("POST", "/api/v1/auth/web/logout"): {403},
    ("PATCH", "/api/v1/admin/users/{user_id}"): {409},
    ("POST", "/api/v1/admin/blocked-voices/from-voice"): {404},  # the voice
    ("POST", "/api/v1/credits/estimate"): {404, 503},  # the voice; the engine
    ("POST", "/api/v1/admin/credits"): {404},  # the user (409: a correction below 0)
    ("POST", "/api/v1/characters"): {404},  # the voice
    ("POST", "/api/synthesize"): {404, 503},  # seed 000: the voice; the engine
    ("POST", "/api/upload-reference"): {404},  # seed 000: the user, the Echo
    ("POST", "/api/echo"): {404},  # seed 000: the user, the voice model
    ("POST", "/api/echo/{echo_id}/messages"): {402, 503},  # seed 000: the LLM
    ("GET", "/api/voice-models"): {404},  # seed 000: the user
    ("POST", "/api/voices/save"): {409},  # seed 004: a voice_id saved before
    ("POST", "/api/tts/save"): {404},  # seed 004: the voice
    ("GET", "/api/tts/stories/{language}/{story_type}/{file_id}/audio"): {409},  # no audio yet
    ("DELETE", "/api/v1/consent/standing"): {404},  # no standing attestation in force
}
# Answers of work that costs credits: 402 insufficient_credits (seed 001's routes: 400).
for _paid in (
    "/api/v1/speech",
    "/api/v1/voices",
    "/api/v1/voices/{voice_id}/references",
    "/api/v1/jobs/{job_id}/retry",
    "/voices",
    "/voices/{voice_id}/synthesize",
    "/api/voices/clone",
    "/api/voices/save",
    "/api/tts/generate",
    "/api/upload-reference",
    "/api/synthesize",
):
    EXTRA.setdefault(("POST", _paid), set()).add(402)
EXTRA[("POST", "/api/characters/complete")] = {400}  # seed 001's short balance
# Request bodies whose `language` an engine must speak.
SPEECH_REQUESTS = ("SpeechRequest", "Seed004Generate", "SpeechEstimate")
# Routes that take recordings also refuse what is in them: not audio (415), unusable (422).
UPLOADS = {
    ("POST", "/api/v1/voices"),
    ("POST", "/api/v1/voices/{voice_id}/references"),
    ("POST", "/voices"),
    ("POST", "/api/voices/clone"),
    ("POST", "/api/voices/save"),
    ("POST", "/api/tts/save"),
    ("POST", "/api/v1/characters/{character_id}/images"),
    ("POST", "/api/characters/complete"),
    ("PUT", "/api/characters/{character_id}"),
    ("POST", "/api/upload-reference"),
    ("POST", "/api/v1/mix"),
    ("POST", "/v1/voices/add"),
    ("POST", "/api/v1/admin/blocked-voices"),
    ("POST", "/api/v1/detect"),
}
# ElevenLabs' speech: a model naming no engine is 404; no engine free is 503; each costs credits.
for _xi in ("", "/stream", "/with-timestamps", "/stream/with-timestamps"):
    EXTRA[("POST", f"/v1/text-to-speech/{{voice_id}}{_xi}")] = {402, 503}
EXTRA[("POST", "/v1/voices/add")] = {402}


def install(app: FastAPI) -> None:
    """Make `app.openapi()` return the completed document."""
    generate = app.openapi

    def openapi() -> Schema:
        if app.openapi_schema is None:
            doc = generate()
            complete(doc, dict(_facts(app)), _face_schemas(app))
            container = getattr(app.state, "container", None)
            if container is not None:
                languages = {lang for e in container.engines.all() for lang in e.info.languages}
                speech_languages(doc, languages)
                document_model_types(doc, [e.info.name for e in container.engines.all()])
                mark_required(doc, container.settings.consent)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(
    doc: Schema, facts: dict[tuple[str, str], set[str]], faces: dict[str, Schema] | None = None
) -> None:
    """Add each operation's error answers and credentials to `doc`, in place."""
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    schemas["Seed000Error"] = ERROR_SCHEMA
    schemas.update(faces or {})
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            key = (method.upper(), path)
            found = facts.get(key, set())
            if "auth" in found:
                op["security"] = [{"bearer": []}, {"apiKey": []}]
            responses = op.setdefault("responses", {})
            for status in sorted(_statuses(key, op, found)):
                # A route's own words on what an answer means (which code, why) are kept;
                # FastAPI's stock 422 text is not one.
                said = responses.get(str(status), {}).get("description")
                kept = {"description": said} if said and said != "Validation Error" else {}
                responses[str(status)] = _error(status, found) | kept


def speech_languages(doc: Schema, languages: set[str]) -> None:
    """Narrow the `language` of speech requests to what this server's engines speak.

    With one engine that is exact; with several, a language one of them speaks, and the engine a
    request picks may still refuse it (422).
    """
    alternatives = "|".join(sorted(re.escape(lang) for lang in languages))
    pattern = f"^(?:{alternatives})(-[A-Za-z0-9]{{2,8}})?$"
    schemas = doc.get("components", {}).get("schemas", {})
    for name in SPEECH_REQUESTS:
        prop = schemas.get(name, {}).get("properties", {}).get("language", {})
        for branch in [prop, *prop.get("anyOf", [])]:
            if "pattern" in branch:
                branch["pattern"] = pattern


def _statuses(key: tuple[str, str], op: Schema, found: set[str]) -> set[int]:
    out = set(EXTRA.get(key, ()))
    params = op.get("parameters", [])
    if params or "requestBody" in op:
        out.add(422)
    if any(p.get("in") == "path" for p in params):
        out.add(404)
    if "requestBody" in op:
        out |= {400, 413}  # a body that does not parse; the body cap
    if key[0] == "POST":
        out |= {400, 409, 422}  # Idempotency-Key: malformed, in flight, reused for another body
    if "auth" in found:
        out |= {401, 403}
    if "limited" in found:
        out.add(429)
    if "seed002" in found or "seed000" in found or _face(found):
        out.add(400)  # seeds 002 and 000 and the faces answer their validation errors with 400
    if key in UPLOADS:
        out |= {413, 415, 422}
    return out


def _problem(status: int) -> Schema:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _json_error(status: int, schema_name: str) -> Schema:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
        },
    }


def _error(status: int, found: set[str]) -> Schema:
    if "seed000" in found:
        return _json_error(status, "Seed000Error")
    if face := _face(found):
        return _json_error(status, face)
    return _problem(status)


# A route class that answers errors in another API's shape says so with two class attributes:
# `error_schema_name` (its component's name) and `error_schema`.
FACE_PREFIX = "face:"


def _face(found: set[str]) -> str | None:
    return next((f.removeprefix(FACE_PREFIX) for f in found if f.startswith(FACE_PREFIX)), None)


def _face_schemas(app: FastAPI) -> dict[str, Schema]:
    """The error schemas of the route classes that speak another API's shape."""
    faces: dict[str, Schema] = {}
    for route in _api_routes(app):
        cls = type(getattr(route, "original_route", route))
        if name := getattr(cls, "error_schema_name", None):
            faces[name] = cls.error_schema
    return faces


def _facts(app: FastAPI) -> Iterator[tuple[tuple[str, str], set[str]]]:
    for route in _api_routes(app):
        calls = set(_calls(route.dependant))
        found = set()
        if {require_principal, internal_principal, standing_caller} & calls:
            found.add("auth")
        if any(_is_rate_limit(call) for call in calls):
            found.add("limited")
        if isinstance(getattr(route, "original_route", route), BadRequestRoute):
            found.add("seed002")
        if isinstance(getattr(route, "original_route", route), Seed000Route):
            found.add("seed000")
        if face := getattr(
            type(getattr(route, "original_route", route)), "error_schema_name", None
        ):
            found.add(FACE_PREFIX + face)
        for method in route.methods or ():
            yield (method, route.path_format), found


def _api_routes(app: FastAPI) -> Iterator[Any]:
    # Newer FastAPI keeps included routers whole and exposes their routes as contexts.
    contexts: Callable[[Any], Iterator[Any]] | None = getattr(routing, "iter_route_contexts", None)
    for route in contexts(app.routes) if contexts else app.routes:
        if isinstance(getattr(route, "dependant", None), Dependant):
            yield route


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _is_rate_limit(call: Callable[..., Any]) -> bool:
    # `limited()` and `internal_limited()` make one closure per policy.
    return call.__qualname__.split(".<locals>.")[0] in {"limited", "internal_limited"}
