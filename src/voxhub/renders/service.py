"""Render use cases on the API side: ask for one (checked, priced, queued in one commit), read
them with their job's state, serve their files and captions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.activities.service import record as record_activity
from voxhub.container import Container
from voxhub.core.errors import NotFound
from voxhub.core.ids import is_id, new_id
from voxhub.core.pagination import decode_cursor, encode_cursor
from voxhub.credits.pricing import speech_cost, video_cost
from voxhub.jobs.endings import failure_activity
from voxhub.jobs.models import FINAL, Job
from voxhub.jobs.service import new_job
from voxhub.renders import backgrounds
from voxhub.renders.job import AUDIO_STEPS, VIDEO_STEPS
from voxhub.renders.models import ScriptRender
from voxhub.renders.plan import plan_render
from voxhub.renders.schemas import RenderCreate
from voxhub.scripts.models import Script
from voxhub.scripts.rules import LANGUAGE
from voxhub.scripts.service import get_script
from voxhub.text.lane import off_loop
from voxhub.text.normalize import normalize_text
from voxhub.text.spoken import in_words

JOB_KIND = "script.render"


class RenderNotFound(NotFound):
    code = "render_not_found"
    title = "Render not found"


def _spoken_chars(texts: Sequence[str]) -> int:
    return sum(len(in_words(normalize_text(t), LANGUAGE)) for t in texts)


async def price(c: Container, script: Script, kind: str) -> int:
    """Seed 001's "1 token per video" (the video price); dialogue audio is priced as speech."""
    if kind == "video":
        return video_cost(c.settings.credits)
    spoken = await off_loop(_spoken_chars, [line.text for line in script.lines])
    return speech_cost(c.settings.credits, spoken)


async def start_render(
    c: Container, session: AsyncSession, script_id: str, data: RenderCreate, p: Principal
) -> tuple[ScriptRender, Job]:
    """Check every line can be spoken (422 naming the line), hold the price (402), queue the
    job; the render row, the job, the hold and the activity commit together."""
    script = await get_script(session, script_id, p)
    await plan_render(c, session, script, p)
    options = data.model_dump(exclude={"kind", "background"}, exclude_none=True)
    if data.background is not None:
        options["background_id"] = (await backgrounds.find(session, data.background, p)).id
    render = ScriptRender(
        id=new_id(),
        owner_id=p.user_id,
        script_id=script.id,
        kind=data.kind,
        revision=script.revision,
        options=options,
        lines=[],
        words=[],
    )
    what = "Video generation" if data.kind == "video" else "Dialogue audio"
    on_failure = failure_activity(
        "video_generation_failed" if data.kind == "video" else "dialogue_render_failed",
        f"{what} {{outcome}} for script '{script.title}'",
        script.id,
    )
    job = await new_job(
        session,
        JOB_KIND,
        {"render_id": render.id, **on_failure},
        p.user_id,
        steps=VIDEO_STEPS if data.kind == "video" else AUDIO_STEPS,
        cost=await price(c, script, data.kind),
        max_attempts=c.settings.jobs.job_max_attempts,
        queued_limit=c.settings.jobs.jobs_queued_per_user,
    )
    render.job_id = job.id
    session.add(render)
    record_activity(
        session,
        p.user_id,
        "video_generation_started" if data.kind == "video" else "dialogue_render_started",
        f"{what} started for script '{script.title}'",
        script_id=script.id,
        job_id=job.id,
    )
    await session.commit()
    await c.jobs.submit(job.id)
    return render, job


async def get_render(
    session: AsyncSession, render_id: str, p: Principal
) -> tuple[ScriptRender, Job | None]:
    render = None
    if is_id(render_id):
        render = await session.scalar(
            select(ScriptRender).where(
                ScriptRender.id == render_id, ScriptRender.owner_id == p.user_id
            )
        )
    if render is None:
        raise RenderNotFound(f"no render {render_id}", render_id=render_id)
    return render, await job_of(session, render)


async def job_of(session: AsyncSession, render: ScriptRender) -> Job | None:
    """The render's job, and the render read again if the job finished: its outputs commit
    with the job's success, which may have landed between the two reads."""
    job = await session.get(Job, render.job_id)
    if job is not None and job.status in FINAL and render.audio_key is None:
        await session.refresh(render)
    return job


async def list_renders(
    session: AsyncSession, script_id: str, p: Principal, limit: int, cursor: str | None
) -> tuple[list[tuple[ScriptRender, Job | None]], str | None]:
    """The script's renders, newest first."""
    after_row = decode_cursor(cursor) if cursor else None  # bad input first, whoever asks
    await get_script(session, script_id, p)
    stmt = select(ScriptRender).where(
        ScriptRender.script_id == script_id, ScriptRender.owner_id == p.user_id
    )
    if after_row:
        at, after = after_row
        stmt = stmt.where(
            or_(
                ScriptRender.created_at < at,
                and_(ScriptRender.created_at == at, ScriptRender.id < after),
            )
        )
    rows = list(
        (
            await session.scalars(
                stmt.order_by(ScriptRender.created_at.desc(), ScriptRender.id.desc()).limit(
                    limit + 1
                )
            )
        ).all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    jobs = {
        j.id: j
        for j in (
            await session.scalars(select(Job).where(Job.id.in_([r.job_id for r in rows])))
        ).all()
    }
    for r in rows:
        job = jobs.get(r.job_id)
        if job is not None and job.status in FINAL and r.audio_key is None:
            await session.refresh(r)  # it finished between the two reads
    nxt = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return [(r, jobs.get(r.job_id)) for r in rows], nxt


async def latest_render(
    session: AsyncSession, script_id: str, kind: str | None = None
) -> tuple[ScriptRender, Job | None] | None:
    """The script's newest render (of `kind`), whatever its state."""
    stmt = select(ScriptRender).where(ScriptRender.script_id == script_id)
    if kind is not None:
        stmt = stmt.where(ScriptRender.kind == kind)
    render = await session.scalar(
        stmt.order_by(ScriptRender.created_at.desc(), ScriptRender.id.desc()).limit(1)
    )
    if render is None:
        return None
    return render, await job_of(session, render)


@dataclass
class ScriptMedia:
    """What a script's listing shows of its renders: the newest finished one's line files,
    and its newest video render (whatever its state) with that render's job."""

    line_files: dict[str, str] = field(default_factory=dict)  # line id -> URL
    video: ScriptRender | None = None
    video_job: Job | None = None


async def media_of(session: AsyncSession, script_ids: Sequence[str]) -> dict[str, ScriptMedia]:
    """Per script, in two queries however many scripts are listed."""
    out = {sid: ScriptMedia() for sid in script_ids}
    if not script_ids:
        return out
    rows = (
        await session.scalars(
            select(ScriptRender)
            .where(ScriptRender.script_id.in_(list(script_ids)))
            .order_by(ScriptRender.created_at.desc(), ScriptRender.id.desc())
        )
    ).all()
    for r in rows:
        m = out[r.script_id]
        if r.audio_key is not None and not m.line_files:
            m.line_files = {
                e["line_id"]: f"/api/v1/renders/{r.id}/lines/{e['index']}/audio" for e in r.lines
            }
        if r.kind == "video" and m.video is None:
            m.video = r
    jobs = [m.video.job_id for m in out.values() if m.video is not None]
    found = {j.id: j for j in (await session.scalars(select(Job).where(Job.id.in_(jobs)))).all()}
    for m in out.values():
        if m.video is not None:
            m.video_job = found.get(m.video.job_id)
            if m.video_job is not None and m.video_job.status in FINAL and not m.video.audio_key:
                await session.refresh(m.video)  # it finished between the two reads
    return out
