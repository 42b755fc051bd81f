"""Opaque keyset cursors: (created_at, id) of the last row, base64url-encoded."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from voxhub.core.errors import InvalidInput


def encode_cursor(created_at: datetime, row_id: str) -> str:
    """A cursor pointing after this row."""
    raw = json.dumps([created_at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a cursor points after; InvalidInput if it was not made here."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(stamp), str(row_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor is not valid", field="cursor") from exc
