"""Recording and reading activities.

`record` only adds the row to the caller's session: the action's own commit stores it, so an
action that fails (and rolls back) leaves no activity, and one that commits always has one.
Reads and the clearing are always of one user's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from voxhub.activities.models import Activity, ActivityCategory, ActivityType
from voxhub.core.pagination import decode_cursor, encode_cursor

MAX_MESSAGE = 1000  # names in messages are user input; the sentence stays readable


def record(
    session: AsyncSession,
    user_id: str,
    type: ActivityType | str,
    message: str,
    *,
    script_id: str | None = None,
    character_id: str | None = None,
    voice_id: str | None = None,
    job_id: str | None = None,
    video_path: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one activity to the caller's transaction (no commit)."""
    kind = ActivityType(type)  # an unknown type is a programming error, raised here
    session.add(
        Activity(
            user_id=user_id,
            type=kind.value,
            category=kind.category.value,
            message=message[:MAX_MESSAGE],
            script_id=script_id,
            character_id=character_id,
            voice_id=voice_id,
            job_id=job_id,
            video_path=video_path,
            details=details or {},
        )
    )


def quoted(name: str, limit: int = 80) -> str:
    """A user-given name as a message shows it: 'Night watch' (long ones cut)."""
    name = " ".join(name.split())
    return f"'{name if len(name) <= limit else name[: limit - 3] + '...'}'"


@dataclass(frozen=True)
class Filters:
    types: Sequence[ActivityType] = field(default_factory=tuple)
    category: ActivityCategory | None = None
    since: datetime | None = None
    until: datetime | None = None
    script_id: str | None = None
    character_id: str | None = None


def _filtered(user_id: str, f: Filters) -> Select[Activity]:
    query = select(Activity).where(Activity.user_id == user_id)
    if f.types:
        query = query.where(Activity.type.in_([t.value for t in f.types]))
    if f.category is not None:
        query = query.where(Activity.category == f.category.value)
    if f.since is not None:
        query = query.where(Activity.created_at >= f.since)
    if f.until is not None:
        query = query.where(Activity.created_at < f.until)
    if f.script_id is not None:
        query = query.where(Activity.script_id == f.script_id)
    if f.character_id is not None:
        query = query.where(Activity.character_id == f.character_id)
    return query


async def list_activities(
    session: AsyncSession, user_id: str, f: Filters, limit: int, cursor: str | None
) -> tuple[list[Activity], str | None]:
    """The user's activities, newest first, `limit` a page."""
    query = _filtered(user_id, f)
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(
            or_(Activity.created_at < at, and_(Activity.created_at == at, Activity.id < row_id))
        )
    order = (Activity.created_at.desc(), Activity.id.desc())
    rows = list(await session.scalars(query.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None


async def count(session: AsyncSession, user_id: str) -> int:
    total = await session.scalar(
        select(func.count()).select_from(Activity).where(Activity.user_id == user_id)
    )
    return int(total or 0)


@dataclass(frozen=True)
class Stats:
    by_category: dict[ActivityCategory, int]
    total: int
    last_at: datetime | None


async def stats(session: AsyncSession, user_id: str) -> Stats:
    """Counts per category (one grouped query over the user's index) and the newest time."""
    rows = await session.execute(
        select(Activity.category, func.count(), func.max(Activity.created_at))
        .where(Activity.user_id == user_id)
        .group_by(Activity.category)
    )
    by: dict[ActivityCategory, int] = dict.fromkeys(ActivityCategory, 0)
    last: datetime | None = None
    for category, n, newest_raw in rows:
        by[ActivityCategory(category)] = int(n)
        newest = _aware(newest_raw)
        if newest is not None and (last is None or newest > last):
            last = newest
    return Stats(by, sum(by.values()), last)


def _aware(value: datetime | str | None) -> datetime | None:
    # max() is an aggregate: SQLite hands back its stored text, not the column's type.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


async def clear(session: AsyncSession, user_id: str) -> int:
    """Delete all of the user's activities; how many there were."""
    result = await session.execute(delete(Activity).where(Activity.user_id == user_id))
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
