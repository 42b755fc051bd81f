"""The consent fields of the main face's voice uploads, and what the published schema says.

The fields are optional to FastAPI, so that a missing one reaches the consent gate and is
answered 422 `consent_required` (not the generic validation error); the OpenAPI document marks
them required when the instance's policy requires them (`mark_required`), so the schema and
the server agree on what a valid request is.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import File, Form, UploadFile

from voxhub.safety.consent import ConsentClaim
from voxhub.settings import ConsentSettings

ConsentField = Annotated[
    Literal["self", "written_permission"] | None,
    Form(
        description="Whose voice this is: `self` (I am the speaker) or `written_permission` (I"
        " have the speaker's written permission). Required unless the instance's consent"
        " policy is `off`; without it, 422 `consent_required`. Stored, unchangeable, with your"
        " account, IP address, the time and the recording's sha256."
    ),
]
ConsentPhraseId = Annotated[
    str | None,
    Form(
        max_length=64,
        description="Policy `spoken`: the phrase id from POST /api/v1/consent/challenge",
    ),
]
ConsentAudio = Annotated[
    UploadFile | None,
    File(description="Policy `spoken`: the speaker reading that phrase aloud"),
]

# The main face's operations that clone (their multipart bodies carry the fields above).
UPLOAD_OPERATIONS = (
    ("/api/v1/voices", "post"),
    ("/api/v1/voices/{voice_id}/references", "post"),
)


async def claim(
    consent: str | None, phrase_id: str | None, audio: UploadFile | None
) -> ConsentClaim:
    """The claim an upload makes; the gate decides whether it is enough."""
    return ConsentClaim(consent, phrase_id, await audio.read() if audio is not None else None)


def required_fields(settings: ConsentSettings) -> tuple[str, ...]:
    if settings.consent_policy == "off":
        return ()
    if settings.consent_policy == "spoken":
        return ("consent", "consent_phrase_id", "consent_audio")
    return ("consent",)


def mark_required(doc: dict[str, Any], settings: ConsentSettings) -> None:
    """Mark, in place, the consent fields this instance's policy requires as required."""
    needed = required_fields(settings)
    schemas = doc.get("components", {}).get("schemas", {})
    for path, method in UPLOAD_OPERATIONS:
        op = doc.get("paths", {}).get(path, {}).get(method, {})
        content = op.get("requestBody", {}).get("content", {})
        ref = content.get("multipart/form-data", {}).get("schema", {}).get("$ref", "")
        body = schemas.get(ref.rsplit("/", 1)[-1]) if ref else None
        if body is None:
            continue
        props = body.get("properties", {})
        for name in needed:
            if name not in props:
                continue
            # Required, so never null: keep the one branch that is not.
            branches = [b for b in props[name].get("anyOf", []) if b.get("type") != "null"]
            if len(branches) == 1:
                described = {k: v for k, v in props[name].items() if k not in ("anyOf", "default")}
                props[name] = branches[0] | described
            required = body.setdefault("required", [])
            if name not in required:
                required.append(name)
