"""Reading the model's answer: JSON into lines of the cast, or the list of what is wrong.

Strict where a line would be wrong to keep (an unknown speaker, empty or unspeakable or
over-long text): those are problems and the writer asks again. Lenient where a safe repair
exists: lines past the cap are dropped, an emotion the speaker has no image for is dropped
(the schema cannot tie labels to speakers), a pause is clamped into range. Blocking (the text
checks): call `read` off the event loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from voxhub.scripts.rules import MAX_PAUSE_MS, MIN_LINES, Cast, emotion_of, text_problem


@dataclass(frozen=True)
class LineDraft:
    speaker: str  # a character id
    text: str
    emotion: str | None = None
    pause_ms: int | None = None


@dataclass
class Draft:
    title: str = ""
    lines: list[LineDraft] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read(answer: str, cast: Cast, cap: int) -> Draft:
    draft = Draft()
    try:
        value = json.loads(answer)
    except ValueError:
        draft.problems.append("the answer is not valid JSON")
        return draft
    if not isinstance(value, dict) or not isinstance(value.get("lines"), list):
        draft.problems.append('the answer must be an object with a "lines" list')
        return draft
    title = value.get("title")
    if isinstance(title, str) and "\x00" not in title:
        draft.title = " ".join(title.split())[:200]
    raw = value["lines"][:cap]
    if len(raw) < MIN_LINES:
        draft.problems.append(f"the dialogue has {len(raw)} lines; it needs at least {MIN_LINES}")
    for i, item in enumerate(raw, start=1):
        line = _line(item, cast, i, draft.problems)
        if line is not None:
            draft.lines.append(line)
    return draft


def _line(item: Any, cast: Cast, i: int, problems: list[str]) -> LineDraft | None:
    if not isinstance(item, dict):
        problems.append(f"line {i} is not an object")
        return None
    speaker, text = item.get("speaker"), item.get("text")
    member = cast.by_name(speaker) if isinstance(speaker, str) else None
    if member is None:
        problems.append(f"line {i}: the speaker {speaker!r} is not one of {', '.join(cast.names)}")
    if not isinstance(text, str):
        problems.append(f"line {i}: the text is missing")
        return None
    text = text.strip()
    why = text_problem(text)
    if why:
        problems.append(f"line {i}: {why}")
        return None
    if member is None:
        return None
    emotion = item.get("emotion")
    label = emotion_of(member, emotion) if isinstance(emotion, str) else None
    pause = item.get("pause_ms")
    pause_ms = None
    if isinstance(pause, int | float) and not isinstance(pause, bool):
        pause_ms = min(max(int(pause), 0), MAX_PAUSE_MS)
    return LineDraft(member.id, text, label, pause_ms)
