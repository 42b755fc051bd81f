"""Text with NUL is refused as client input (422) on both databases, not failed on (500).

PostgreSQL text cannot hold NUL ("invalid byte sequence"), while SQLite stores it. NUL can come
in through any field, query or path value (JSON "\\u0000", a form field, "%00"); this checks every
value at the one place they all pass, before the statement runs, so both databases refuse the
same input and nothing is half-stored. (Unpaired surrogates, the other text no driver can send,
are refused earlier: request validation does not take them as strings.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from voxhub.core.errors import UnstorableText


def install(engine: AsyncEngine) -> None:
    """Check the parameters of every statement `engine` runs."""
    event.listen(engine.sync_engine, "before_cursor_execute", _check, retval=True)


def _check(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
) -> tuple[str, Any]:
    if any("\x00" in text for text in _strings(parameters)):
        raise UnstorableText("text may not contain NUL characters")
    return statement, parameters


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
