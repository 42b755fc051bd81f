"""The part of JSON Schema that LLM answers use: types, properties, required, enum, items,
additionalProperties, min/maxItems, maxLength. Enough to check a reply, not a general validator."""

from __future__ import annotations

import json
from typing import Any

from voxhub.core.errors import LlmBadOutput

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}


def problems(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """What in `value` breaks `schema` (empty when it matches)."""
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: not one of {schema['enum']}"]
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_is(value, name) for name in names):
            return [f"{path}: not {' or '.join(names)}"]
    found: list[str] = []
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        found += [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in props:
                found += problems(item, props[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{path}: unexpected {key}")
    elif isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            found.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.append(f"{path}: more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            found += problems(item, schema.get("items", {}), f"{path}[{i}]")
    elif isinstance(value, str) and len(value) > schema.get("maxLength", len(value)):
        found.append(f"{path}: longer than {schema['maxLength']}")
    return found


def _is(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("number", "integer"):
        return False  # JSON's true is no number, though Python's bool is an int
    return isinstance(value, _TYPES.get(name, (object,)))


def check_json(text: str, schema: dict[str, Any]) -> Any:
    """The parsed reply, or `LlmBadOutput` when it is no JSON or does not match `schema`."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise LlmBadOutput("The language model's answer is not valid JSON.") from exc
    found = problems(value, schema)
    if found:
        raise LlmBadOutput("The language model's answer does not match the schema.", problems=found)
    return value
