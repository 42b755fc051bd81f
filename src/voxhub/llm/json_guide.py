"""Constrained decoding for JSON answers: an incremental parser that says, byte by byte, whether
what the model wrote so far can still become a value matching a schema (the subset in
`voxhub.llm.schema`: object properties and required keys, arrays with item counts, strings with
lengths and enums, numbers, integers, booleans, null).

The decoder offers each candidate token's bytes to `feed`; a token that would break the JSON or
the schema is never chosen. Object keys are limited to the schema's properties (no duplicates),
`}` comes only once every required key is there, and a string, a number or a run of whitespace
cannot grow forever (so a small model cannot stall inside one until the token cap).

A state is an immutable tuple of frames (innermost last), so trying a candidate costs no copy."""

from __future__ import annotations

import json
import re
from typing import Any

Frame = tuple[Any, ...]
State = tuple[tuple[Frame, ...], int]  # (frames, length of the current whitespace run)

DEFAULT_MAX_STRING = 256  # characters, where the schema gives no maxLength
DEFAULT_MAX_ITEMS = 32
MAX_NUMBER = 24  # bytes
MAX_WHITESPACE_RUN = 12  # enough for pretty-printed nesting, not for a loop of blank lines
_WS = frozenset(b" \t\n\r")
_NUMBER = re.compile(rb"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_INTEGER = re.compile(rb"-?(0|[1-9][0-9]*)")
_LITERALS = {ord("t"): (b"rue", True), ord("f"): (b"alse", False), ord("n"): (b"ull", None)}
_DONE: Frame = ("done",)


class JsonGuide:
    """The parser for one schema; `start` is the state before the first byte."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.start: State = ((("value", schema),), 0)

    def feed(self, state: State, data: bytes) -> State | None:
        """The state after `data`, or None if `data` cannot be part of a matching answer."""
        frames, ws = state
        for b in data:
            in_string = frames[-1][0] == "string"
            if b in _WS and not in_string:
                ws += 1
                if ws > MAX_WHITESPACE_RUN:
                    return None
            elif not in_string:
                ws = 0
            nxt = _step(frames, b)
            if nxt is None:
                return None
            frames = nxt
        return frames, ws

    def done(self, state: State) -> bool:
        """Whether a whole matching value has been written (nothing may follow)."""
        return state[0][-1] is _DONE

    def can_end(self, state: State) -> bool:
        """Whether the answer may stop here: done, or a top-level number that is complete."""
        frames = state[0]
        if frames[-1] is _DONE:
            return True
        return len(frames) == 1 and frames[0][0] == "number" and _number_complete(frames[0])


def _kinds(schema: dict[str, Any]) -> set[str]:
    if "enum" in schema:
        kinds = set()
        for v in schema["enum"]:
            if isinstance(v, bool):
                kinds.add("boolean")
            elif isinstance(v, int | float):
                kinds.add("number")
            elif isinstance(v, str):
                kinds.add("string")
            elif v is None:
                kinds.add("null")
        return kinds
    kind = schema.get("type")
    if kind is None:
        return {"object", "array", "string", "number", "boolean", "null"}
    kinds = {kind} if isinstance(kind, str) else set(kind)
    if "number" in kinds:
        kinds.add("integer")
    return kinds


def _step(frames: tuple[Frame, ...], b: int) -> tuple[Frame, ...] | None:
    top, outer = frames[-1], frames[:-1]
    kind = top[0]
    if kind == "value":
        return frames if b in _WS else _begin(outer, top[1], b)
    if kind == "string":
        return _string(outer, top, b)
    if kind == "number":
        return _number(outer, top, b)
    if kind == "literal":
        _, rest, value, schema = top
        if b != rest[0]:
            return None
        if len(rest) > 1:
            return (*outer, ("literal", rest[1:], value, schema))
        return _finish(outer)
    if kind == "object":
        return _object(outer, top, b)
    if kind == "array":
        return _array(outer, top, b)
    return None  # done: nothing may follow the answer


def _begin(outer: tuple[Frame, ...], schema: dict[str, Any], b: int) -> tuple[Frame, ...] | None:
    kinds = _kinds(schema)
    if b == ord("{") and "object" in kinds:
        return (*outer, ("object", schema, frozenset(), "start", None))
    if b == ord("[") and "array" in kinds:
        return (*outer, ("array", schema, 0, "start"))
    if b == ord('"') and "string" in kinds:
        return (*outer, ("string", schema, False, b"", 0, 0))
    if (b == ord("-") or ord("0") <= b <= ord("9")) and kinds & {"number", "integer"}:
        return _number_grow(outer, ("number", schema, b""), b)
    if b in _LITERALS:
        rest, value = _LITERALS[b]
        wanted = "null" if value is None else "boolean"
        if wanted in kinds and ("enum" not in schema or value in schema["enum"]):
            return (*outer, ("literal", rest, value, schema))
    return None


def _finish(outer: tuple[Frame, ...], key: bytes | None = None) -> tuple[Frame, ...]:
    """A value (or, with `key`, an object key) ended: tell the frame around it."""
    if not outer:
        return (_DONE,)
    parent, above = outer[-1], outer[:-1]
    if parent[0] == "object":
        _, schema, seen, _, _ = parent
        if key is not None:
            return (*above, ("object", schema, seen, "colon", key))
        return (*above, ("object", schema, seen, "next", None))
    _, schema, count, _ = parent
    return (*above, ("array", schema, count + 1, "next"))


def _string(outer: tuple[Frame, ...], top: Frame, b: int) -> tuple[Frame, ...] | None:
    # raw: the bytes between the quotes as written; count: characters so far, an escape
    # counted once at its backslash (so a string at its length limit cannot start one and
    # then be unable to finish it).
    _, schema, is_key, raw, escape, count = top
    if escape:  # after a backslash (1) or inside \uXXXX (2-5)
        if escape == 1:
            if b == ord("u") and _allowed_texts(outer, schema, is_key) is None:
                return (*outer, ("string", schema, is_key, raw + b"u", 2, count))
            if b not in b'"\\/bfnrt':
                return None
            return _grown(outer, top, raw + bytes([b]), count)
        if chr(b) not in "0123456789abcdefABCDEF":
            return None
        if escape < 5:
            return (*outer, ("string", schema, is_key, raw + bytes([b]), escape + 1, count))
        return _grown(outer, top, raw + bytes([b]), count)
    if b == ord('"'):
        allowed = _allowed_texts(outer, schema, is_key)
        if allowed is not None and raw not in allowed:
            return None
        if not is_key and count < schema.get("minLength", 0):
            return None  # too short to end here (a script line that says nothing)
        return _finish(outer, key=raw) if is_key else _finish(outer)
    if b == ord("\\"):
        return _grown(outer, top, raw + b"\\", count + 1, escape=1)
    if b < 0x20:
        return None  # JSON strings hold no raw control characters (newlines included)
    # A UTF-8 continuation byte (0b10xxxxxx) adds to the character its lead byte began.
    return _grown(outer, top, raw + bytes([b]), count + (b & 0xC0 != 0x80))


def _grown(
    outer: tuple[Frame, ...], top: Frame, raw: bytes, count: int, escape: int = 0
) -> tuple[Frame, ...] | None:
    schema, is_key = top[1], top[2]
    allowed = _allowed_texts(outer, schema, is_key)
    if allowed is not None:
        if not any(text.startswith(raw) for text in allowed):
            return None
    elif count > (64 if is_key else schema.get("maxLength", DEFAULT_MAX_STRING)):
        return None
    return (*outer, ("string", schema, is_key, raw, escape, count))


def _allowed_texts(
    outer: tuple[Frame, ...], schema: dict[str, Any], is_key: bool
) -> list[bytes] | None:
    """The exact texts this string may take (as written between the quotes), or None for any."""
    if is_key:
        _, obj_schema, seen, _, _ = outer[-1]
        props = obj_schema.get("properties")
        if not props:
            return None
        return [_inner(k) for k in props if _inner(k) not in seen]
    if "enum" in schema:
        return [_inner(v) for v in schema["enum"] if isinstance(v, str)]
    return None


def _inner(text: str) -> bytes:
    return json.dumps(text, ensure_ascii=False)[1:-1].encode()


def _number(outer: tuple[Frame, ...], top: Frame, b: int) -> tuple[Frame, ...] | None:
    grown = _number_grow(outer, top, b)
    if grown is not None:
        return grown
    if not _number_complete(top):
        return None
    if "enum" in top[1] and json.loads(top[2]) not in top[1]["enum"]:
        return None
    # The byte that ended the number belongs to the frame around it.
    return _step(_finish(outer), b) if outer else None


def _number_grow(outer: tuple[Frame, ...], top: Frame, b: int) -> tuple[Frame, ...] | None:
    _, schema, raw = top
    if chr(b) not in "-+.eE0123456789" or len(raw) >= MAX_NUMBER:
        return None
    raw += bytes([b])
    pattern = _INTEGER if "number" not in _kinds(schema) else _NUMBER
    if not (pattern.fullmatch(raw) or pattern.fullmatch(raw + b"1")):
        return None
    return (*outer, ("number", schema, raw))


def _number_complete(top: Frame) -> bool:
    pattern = _INTEGER if "number" not in _kinds(top[1]) else _NUMBER
    return pattern.fullmatch(top[2]) is not None


def _object(outer: tuple[Frame, ...], top: Frame, b: int) -> tuple[Frame, ...] | None:
    _, schema, seen, phase, key = top
    if b in _WS:
        return (*outer, top)
    props = schema.get("properties") or {}
    required = {_inner(k) for k in schema.get("required", [])}
    if phase in ("start", "key") and b == ord('"'):
        if props and len(seen) >= len(props):
            return None
        return (*outer, top, ("string", {}, True, b"", 0, 0))
    if phase in ("start", "next") and b == ord("}"):
        return _finish(outer) if required <= seen else None
    if phase == "colon" and b == ord(":"):
        name = json.loads(b'"' + key + b'"')
        value_schema = props.get(name, {})
        return (*outer, ("object", schema, seen | {key}, "value", None), ("value", value_schema))
    if phase == "next" and b == ord(","):
        if props and len(seen) >= len(props):
            return None
        return (*outer, ("object", schema, seen, "key", None))
    return None


def _array(outer: tuple[Frame, ...], top: Frame, b: int) -> tuple[Frame, ...] | None:
    _, schema, count, phase = top
    if b in _WS:
        return (*outer, top)
    items = schema.get("items", {})
    most = schema.get("maxItems", DEFAULT_MAX_ITEMS)
    if b == ord("]") and phase in ("start", "next"):
        return _finish(outer) if count >= schema.get("minItems", 0) else None
    if phase == "next" and b == ord(","):
        return (
            (*outer, ("array", schema, count, "value"), ("value", items)) if count < most else None
        )
    if phase == "start" and most > 0:
        return _begin((*outer, ("array", schema, count, "value")), items, b)
    return None
