"""ElevenLabs' voice `labels` (accent, gender, age, language...) in voxhub's terms.

`language` is the voice's language; every other label is kept as a `key:value` tag, so it
comes back as a label and can be searched like any tag (`GET /api/v1/voices?tag=accent:irish`).
Tags are lower-cased and cut at 40 characters, as every voxhub tag is.
"""

from __future__ import annotations

import json

from voxhub.core.errors import InvalidInput
from voxhub.voices.models import Voice


def parse_labels(raw: str | None) -> tuple[str, list[str]]:
    """(language, tags) from the form's JSON object; the SDK sends "null" when there are none."""
    if raw is None or raw.strip() in ("", "null"):
        return "en", []
    try:
        said = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput("labels must be a JSON object", param="labels") from exc
    if not isinstance(said, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in said.items()
    ):
        raise InvalidInput("labels must be a JSON object of strings", param="labels")
    language = said.pop("language", "en").strip().lower() or "en"
    return language, [f"{k.strip()}:{v.strip()}" for k, v in said.items() if k.strip()]


def labels_of(voice: Voice) -> dict[str, str]:
    """A voice's labels: its language and its `key:value` tags."""
    labels = {"language": voice.language}
    for tag in voice.tags or []:
        key, sep, value = tag.partition(":")
        if sep and key and key != "language":
            labels[key] = value
    return labels
