"""Identifiers: random UUID4 strings, never guessable, never derived from user input."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A fresh random identifier."""
    return str(uuid.uuid4())


def is_id(value: str) -> bool:
    """Whether `value` is shaped like an identifier we issue."""
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
