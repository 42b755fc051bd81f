"""/api/v1/scripts: dialogues between characters, written by the LLM, then edited.

`POST /api/v1/scripts` has the model write the dialogue under a JSON schema (speakers only from
the selection), checks it, asks once more telling the model what was wrong, and stores it whole
or answers 502 `llm_bad_output` naming what was still wrong (nothing stored, credits released);
a model that cannot answer is 503 `llm_unavailable` with `Retry-After`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.scripts import edits, service
from voxhub.scripts.schemas import (
    LineCreate,
    LineOrder,
    LineRead,
    LineUpdate,
    ScriptCreate,
    ScriptPage,
    ScriptRead,
    ScriptUpdate,
)

router = APIRouter(prefix="/api/v1/scripts", tags=["scripts"])
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": "No such script of yours (`script_not_found`)"}}
EDIT: Responses = NOT_FOUND | {
    422: {"description": "A line that cannot be kept (`invalid_script_line`, naming the line)"}
}
WRITE: Responses = {
    402: {"description": "Not enough credits for the model's call (`insufficient_credits`)"},
    404: {"description": "A selected character is not visible to you (`character_not_found`)"},
    422: {"description": "Bad input, or a character without a voice (`character_has_no_voice`)"},
    502: {"description": "The model's script was still invalid after a retry (`llm_bad_output`)"},
    503: {"description": "The model cannot answer now (`llm_unavailable`, `Retry-After`)"},
}


def read(script: Any) -> ScriptRead:
    return ScriptRead.model_validate(script)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ScriptRead, responses=WRITE)
async def create_script(
    data: ScriptCreate, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> ScriptRead:
    """Have the model write a dialogue between 2 to 6 characters on `prompt`."""
    return read(await service.generate(c, session, data, p))


@router.get("", response_model=ScriptPage)
async def list_scripts(
    session: SessionDep,
    p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ScriptPage:
    """Your scripts, newest first, paginated by cursor."""
    rows, nxt = await service.list_scripts(session, p, limit, cursor)
    return ScriptPage(items=[read(s) for s in rows], next_cursor=nxt)


@router.get("/{script_id}", response_model=ScriptRead, responses=NOT_FOUND)
async def get_script(script_id: str, session: SessionDep, p: CurrentPrincipal) -> ScriptRead:
    return read(await service.get_script(session, script_id, p))


@router.patch("/{script_id}", response_model=ScriptRead, responses=NOT_FOUND)
async def update_script(
    script_id: str, data: ScriptUpdate, session: SessionDep, p: CurrentPrincipal
) -> ScriptRead:
    """Change the title."""
    script = await service.get_script(session, script_id, p)
    if data.title is not None:
        await service.retitle(session, script, data.title)
    return read(script)


@router.delete(
    "/{script_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
async def delete_script(
    script_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    await service.delete_script(c, session, await service.get_script(session, script_id, p))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/{script_id}/lines/{line_id}", response_model=LineRead, responses=EDIT)
async def update_line(
    script_id: str, line_id: str, data: LineUpdate, session: SessionDep, p: CurrentPrincipal
) -> LineRead:
    """Change one line's speaker, text, emotion or pause (null clears emotion and pause)."""
    script = await service.get_script(session, script_id, p)
    return LineRead.model_validate(await edits.update_line(session, script, line_id, data, p))


@router.post(
    "/{script_id}/lines",
    status_code=status.HTTP_201_CREATED,
    response_model=LineRead,
    responses=EDIT,
)
async def add_line(
    script_id: str, data: LineCreate, session: SessionDep, p: CurrentPrincipal
) -> LineRead:
    """Add a line at `position` (default: the end)."""
    script = await service.get_script(session, script_id, p)
    return LineRead.model_validate(await edits.add_line(session, script, data, p))


@router.delete("/{script_id}/lines/{line_id}", response_model=ScriptRead, responses=EDIT)
async def delete_line(
    script_id: str, line_id: str, session: SessionDep, p: CurrentPrincipal
) -> ScriptRead:
    """Remove a line (a script keeps at least two); the script as it is now."""
    script = await service.get_script(session, script_id, p)
    await edits.delete_line(session, script, line_id)
    return read(script)


@router.post("/{script_id}/order", response_model=ScriptRead, responses=EDIT)
async def reorder_lines(
    script_id: str, data: LineOrder, session: SessionDep, p: CurrentPrincipal
) -> ScriptRead:
    """Put the lines in the order of `line_ids` (each line once)."""
    script = await service.get_script(session, script_id, p)
    await edits.reorder(session, script, data.line_ids)
    return read(script)
