"""Rows as the API shows them."""

from __future__ import annotations

import json

from voxhub.chats.models import ChatMessageRow
from voxhub.chats.schemas import MessageRead


def message_read(m: ChatMessageRow) -> MessageRead:
    read = MessageRead.model_validate(m)
    if m.audio_key:
        read.audio_url = f"/api/v1/chats/{m.thread_id}/messages/{m.id}/audio"
    return read


def sse(event: str, data: object) -> bytes:
    """One server-sent event; `data` is JSON on one line."""
    body = data.model_dump_json() if hasattr(data, "model_dump_json") else json.dumps(data)
    return f"event: {event}\ndata: {body}\n\n".encode()
