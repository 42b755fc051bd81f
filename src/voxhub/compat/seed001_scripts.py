"""Seed 001's script routes over the scripts domain, in the seed's shapes.

`dialogue` is the seed's list of {speaker (a character id), text, audioFile}; voxhub adds
`lineId`, `emotion` and `pauseMs` beside them (a PUT may send them back). The video fields are
null and `audioFile` empty until renders exist. A short balance is 400, as the seed documents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.compat.seed001 import Seed001Route
from voxhub.compat.seed001_video import STATUS, video_path
from voxhub.credits.service import balance_of
from voxhub.renders import service as renders
from voxhub.renders.service import ScriptMedia
from voxhub.renders.views import current_step
from voxhub.scripts import edits, service
from voxhub.scripts.models import Script
from voxhub.scripts.rules import DEFAULT_LINES, MAX_CAST, MAX_LINES, MAX_PROMPT_CHARS, MIN_CAST
from voxhub.scripts.schemas import CharacterId, Emotion, LineText, PauseMs, ScriptCreate

router = APIRouter(tags=["compat: seed 001"], route_class=Seed001Route)
MAX_LISTED = 500


class Seed001Line(BaseModel):
    speaker: str
    text: str
    audioFile: str = ""
    lineId: str | None = None
    emotion: str | None = None
    pauseMs: int | None = None


class Seed001Script(BaseModel):
    id: str
    selectedCharacters: list[str]
    originalPrompt: str
    dialogue: list[Seed001Line]
    createdAt: datetime
    updatedAt: datetime
    hasAudio: bool = False
    audioCount: int = 0
    finalVideoPath: str | None = None
    videoDuration: float | None = None
    title: str  # voxhub's own


class Seed001ListedScript(Seed001Script):
    videoSize: int | None = None
    videoJobId: str | None = None
    videoJobStatus: str | None = None
    videoJobProgress: float | None = None
    videoJobCurrentStep: str | None = None
    videoJobStartedAt: datetime | None = None
    videoJobCompletedAt: datetime | None = None
    videoJobErrorMessage: str | None = None


class Seed001Scripts(BaseModel):
    scripts: list[Seed001ListedScript]
    userTokens: int


class Seed001Generate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    selectedCharacters: list[CharacterId] = Field(
        min_length=MIN_CAST,
        max_length=MAX_CAST,
        json_schema_extra={"uniqueItems": True},  # the schema says what the validator checks
    )
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PROMPT_CHARS)]

    @field_validator("selectedCharacters")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each character may be selected once")
        return value

    @field_validator("prompt")
    @classmethod
    def _some_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a prompt needs some text")
        return value


class Seed001LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    speaker: CharacterId
    text: LineText
    audioFile: Annotated[str, StringConstraints(max_length=500)] = ""  # the render's; ignored
    lineId: Annotated[str, StringConstraints(max_length=36)] | None = None  # ids go by place
    emotion: Emotion | None = None
    pauseMs: PauseMs | None = None


class Seed001Update(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    dialogue: list[Seed001LineIn] = Field(max_length=MAX_LINES)


class Seed001ScriptDeleted(BaseModel):
    message: str
    deletedMediaFiles: list[str]
    deletedCount: int


def shaped(script: Script, media: ScriptMedia | None = None) -> Seed001Script:
    m = media or ScriptMedia()
    video = m.video if m.video is not None and m.video.video_key else None
    return Seed001Script(
        id=script.id,
        selectedCharacters=list(script.character_ids),
        originalPrompt=script.prompt,
        dialogue=[
            Seed001Line(
                speaker=ln.speaker,
                text=ln.text,
                audioFile=m.line_files.get(ln.id, ""),
                lineId=ln.id,
                emotion=ln.emotion,
                pauseMs=ln.pause_ms,
            )
            for ln in script.lines
        ],
        createdAt=script.created_at,
        updatedAt=script.updated_at,
        hasAudio=bool(m.line_files),
        audioCount=sum(1 for ln in script.lines if ln.id in m.line_files),
        finalVideoPath=video_path(video) if video else None,
        videoDuration=video.duration_s if video else None,
        title=script.title,
    )


def listed(script: Script, media: ScriptMedia) -> Seed001ListedScript:
    """The script with its newest video job's fields, as seed 001's my-scripts lists it."""
    out = Seed001ListedScript(**shaped(script, media).model_dump())
    render, job = media.video, media.video_job
    if render is None or job is None:
        return out
    out.videoSize = render.video_size
    out.videoJobId = job.id
    out.videoJobStatus = STATUS.get(job.status, job.status)
    out.videoJobProgress = float(job.progress)
    out.videoJobCurrentStep = current_step(job) or (
        "completed" if job.status == "succeeded" else job.status
    )
    out.videoJobStartedAt = job.started_at
    out.videoJobCompletedAt = job.finished_at
    out.videoJobErrorMessage = str(job.error.get("message")) if job.error else None
    return out


@router.post(
    "/api/scripts/generate",
    response_model=Seed001Script,
    responses={
        400: {"description": "Not enough tokens (seed 001's answer when the balance is short)"},
        404: {"description": "A selected character is not visible to you"},
        502: {"description": "The model's script was still invalid after one retry"},
        503: {"description": "The model cannot answer now (`llm_unavailable`, `Retry-After`)"},
    },
)
async def generate(
    body: Seed001Generate, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Seed001Script:
    """Generate a script with the LLM (one LLM call's credits; 400 when short)."""
    data = ScriptCreate.model_construct(
        character_ids=body.selectedCharacters, prompt=body.prompt, lines=DEFAULT_LINES, title=""
    )  # checked already, as Seed001Generate
    return shaped(await service.generate(c, session, data, p))


@router.put("/api/scripts/{script_id}", response_model=Seed001Script)
async def update(
    script_id: str, body: Seed001Update, session: SessionDep, p: CurrentPrincipal
) -> Seed001Script:
    """Replace the dialogue; lines keep their ids by place."""
    script = await service.get_script(session, script_id, p)
    wanted = [edits.Wanted(ln.speaker, ln.text, ln.emotion, ln.pauseMs) for ln in body.dialogue]
    await edits.replace_lines(session, script, wanted, p)
    return shaped(script, (await renders.media_of(session, [script.id]))[script.id])


@router.get("/api/my-scripts", response_model=Seed001Scripts)
async def my_scripts(session: SessionDep, p: CurrentPrincipal) -> Seed001Scripts:
    """Your scripts, newest first (up to 500), with your token balance."""
    rows, _ = await service.list_scripts(session, p, MAX_LISTED, None)
    media = await renders.media_of(session, [s.id for s in rows])
    items = [listed(s, media[s.id]) for s in rows]
    return Seed001Scripts(scripts=items, userTokens=await balance_of(session, p.user_id))


@router.delete("/api/scripts/{script_id}", response_model=Seed001ScriptDeleted)
async def delete(
    script_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Seed001ScriptDeleted:
    """Delete a script (owner only) and its media files."""
    script = await service.get_script(session, script_id, p)
    files = await service.delete_script(c, session, script)
    return Seed001ScriptDeleted(
        message=f"Script '{script_id}' deleted successfully",
        deletedMediaFiles=files,
        deletedCount=len(files),
    )
