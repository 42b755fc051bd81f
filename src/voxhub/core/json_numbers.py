"""JSON numbers in strict models."""

from __future__ import annotations

from typing import Any


def whole(value: Any) -> Any:
    """3.0 as 3: JSON has one number type and JSON Schema's integer includes 3.0, so a strict
    model (where "3" and true are not numbers) takes it too; 3.5 still fails as an integer.
    Use as `BeforeValidator(whole)` on an int field."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
