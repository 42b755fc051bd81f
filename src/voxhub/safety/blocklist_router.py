"""/api/v1/admin/blocked-voices: the no-go list, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field

from voxhub.accounts.deps import AdminPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.forms import FormRoute
from voxhub.safety import blocklist
from voxhub.security.deps import limited

router = APIRouter(prefix="/api/v1/admin/blocked-voices", tags=["admin"], route_class=FormRoute)

# At least one visible character; the label is stored trimmed.
LABEL_PATTERN = r"\S"
LABEL_DESCRIPTION = "Who it is, for admins (e.g. a public figure's name)"


class BlockedVoiceRead(BaseModel):
    """One entry; its embedding stays on the server."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    label: str
    source: Literal["recording", "voice"]
    source_sha256: str | None = Field(description="The uploaded recording's SHA-256")
    source_voice_id: str | None = Field(description="The voice it was taken from")
    created_by: str | None
    created_at: datetime


class BlockedVoicePage(BaseModel):
    items: list[BlockedVoiceRead]
    next_cursor: str | None


class BlockFromVoice(BaseModel):
    """Block the speaker of an existing voice, any user's."""

    model_config = ConfigDict(extra="forbid", strict=True)

    voice_id: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=200, pattern=LABEL_PATTERN)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=BlockedVoiceRead,
    dependencies=[limited("clone")],
)
async def block_recording(
    c: ContainerDep,
    session: SessionDep,
    p: AdminPrincipal,
    file: Annotated[UploadFile, File(description="A recording of the speaker to block")],
    label: Annotated[
        str,
        Form(min_length=1, max_length=200, pattern=LABEL_PATTERN, description=LABEL_DESCRIPTION),
    ],
) -> BlockedVoiceRead:
    """Block the speaker of a recording (3 s of speech or more). Only its speaker embedding is
    kept, never the audio; 409 when the same recording is already on the list."""
    entry = await blocklist.block_recording(c, session, await file.read(), label, p)
    return BlockedVoiceRead.model_validate(entry)


@router.post("/from-voice", status_code=status.HTTP_201_CREATED, response_model=BlockedVoiceRead)
async def block_voice(
    body: BlockFromVoice, session: SessionDep, p: AdminPrincipal
) -> BlockedVoiceRead:
    """Block the speaker of an existing voice (404 when there is none; 409 when that voice is
    already on the list). The voice stays; new clones of its speaker are refused."""
    entry = await blocklist.block_voice(session, body.voice_id, body.label, p)
    return BlockedVoiceRead.model_validate(entry)


@router.get("", response_model=BlockedVoicePage)
async def list_blocked(
    _: AdminPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> BlockedVoicePage:
    """The no-go list, newest first, paginated by cursor."""
    rows, next_cursor = await blocklist.list_blocked(session, limit, cursor)
    return BlockedVoicePage(
        items=[BlockedVoiceRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.delete("/{blocked_voice_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unblock(
    blocked_voice_id: Annotated[str, Path(max_length=64)], session: SessionDep, p: AdminPrincipal
) -> Response:
    """Take an entry off the list: its speaker may be cloned again."""
    await blocklist.unblock(session, blocked_voice_id, p)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
