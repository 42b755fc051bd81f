"""Opaque keyset cursors: (created_at, id) of the last row, base64url-encoded."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from voxhub.core.errors import InvalidCursor


def encode_cursor(created_at: datetime, row_id: str) -> str:
    """A cursor pointing after this row."""
    raw = json.dumps([created_at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a cursor points after; InvalidCursor if it was not made here."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise _invalid() from exc
    if not (
        isinstance(decoded, list) and len(decoded) == 2 and all(isinstance(x, str) for x in decoded)
    ):
        raise _invalid()
    stamp, row_id = decoded
    try:
        at = datetime.fromisoformat(stamp)
        # Rows are compared in UTC: a naive time could mean any zone, and SQLite compares text.
        utc = at.astimezone(UTC) if at.tzinfo is not None else None
    except (ValueError, OverflowError) as exc:
        raise _invalid() from exc
    if utc is None:
        raise _invalid()
    return utc, row_id


def as_utc(at: datetime) -> datetime:
    """`at` in UTC, for comparing with stored times (SQLite compares text). An instant before
    the first UTC one (0001-01-01T00:00+01:00) or after the last one bounds nothing: it becomes
    that first or last instant rather than an error."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if at.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


def _invalid() -> InvalidCursor:
    return InvalidCursor("cursor is not one this API made; start again without it", field="cursor")
