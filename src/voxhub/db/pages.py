"""Newest-first keyset pages over any table with `created_at` and `id`, the shape of every list
voxhub answers (`{items, next_cursor}`): stable under inserts, and an index walk per page."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.core.pagination import decode_cursor, encode_cursor

# A model with `id` and `created_at` columns (IdMixin and TimestampMixin). mypy cannot say
# "a class with these two mapped columns", so they are read through `Any` below.
Row = TypeVar("Row")


async def newest_first(
    session: AsyncSession,
    stmt: Select[Any],
    model: type[Row],
    limit: int,
    cursor: str | None,
) -> tuple[list[Row], str | None]:
    """One page of `stmt`'s rows of `model`, newest first (ties by id), after `cursor` (a 422
    InvalidCursor when it was not made here), and the cursor of the next page (None: the last)."""
    columns: Any = model
    if cursor:
        at, last = decode_cursor(cursor)
        stmt = stmt.where(
            or_(columns.created_at < at, and_(columns.created_at == at, columns.id < last))
        )
    newest = stmt.order_by(columns.created_at.desc(), columns.id.desc()).limit(limit + 1)
    rows: list[Row] = list(await session.scalars(newest))
    page = rows[:limit]
    if len(rows) <= limit or not page:
        return page, None
    last_row: Any = page[-1]
    return page, encode_cursor(last_row.created_at, last_row.id)
