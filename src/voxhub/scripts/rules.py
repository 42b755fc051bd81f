"""What a script line must be, whoever wrote it (the LLM or an edit): the caps and the checks.

A line is said by one of the script's cast, has speakable text (something left after
voxhub.text.normalize, as speech requires) within the caps, names at most one of its speaker's
image labels as its emotion, and pauses for a bounded time. The checks are plain functions
returning what is wrong, so the writer can tell the model and an edit can answer 422.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voxhub.characters.models import Character
from voxhub.text.normalize import normalize_text
from voxhub.text.spoken import in_words

MIN_CAST = 2
MAX_CAST = 6
MIN_LINES = 2
DEFAULT_LINES = 8
MAX_LINES = 40
MAX_LINE_CHARS = 500  # characters as written
MAX_SPOKEN_CHARS = 1000  # characters as said (numbers and symbols in words)
MAX_PAUSE_MS = 10_000
MAX_PROMPT_CHARS = 4000
LANGUAGE = "en"  # how lengths are counted when spoken; characters carry no language yet


@dataclass(frozen=True)
class Member:
    """One of the cast: its id, the name the model is given, and its image labels."""

    id: str
    name: str
    labels: tuple[str, ...]
    character: Character


@dataclass(frozen=True)
class Cast:
    members: tuple[Member, ...]

    @classmethod
    def of(cls, characters: Sequence[Character]) -> Cast:
        """The cast under unique names: two characters called "Sam" become "Sam" and "Sam (2)",
        so every name the model writes maps back to exactly one id."""
        members: list[Member] = []
        taken: set[str] = set()
        for ch in characters:
            base = " ".join(ch.display_name.split()) or "Speaker"
            name, n = base, 1
            while name.casefold() in taken:
                n += 1
                name = f"{base} ({n})"
            taken.add(name.casefold())
            labels = tuple(dict.fromkeys(i.label for i in ch.images if i.label.strip()))
            members.append(Member(ch.id, name, labels, ch))
        return cls(tuple(members))

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]

    def by_name(self, name: str) -> Member | None:
        wanted = " ".join(name.split()).casefold()
        return next((m for m in self.members if m.name.casefold() == wanted), None)

    def by_id(self, character_id: str) -> Member | None:
        return next((m for m in self.members if m.id == character_id), None)


def text_problem(text: str) -> str | None:
    """Why `text` cannot be a line, or None. Blocking (the text plan): call it off the loop."""
    if "\x00" in text:
        return "the text contains a NUL character"
    if not text.strip():
        return "the text is empty"
    if len(text) > MAX_LINE_CHARS:
        return f"the text is {len(text)} characters long; the limit is {MAX_LINE_CHARS}"
    clean = normalize_text(text)
    if not clean:
        return "the text has nothing that can be spoken"
    spoken = len(in_words(clean, LANGUAGE))
    if spoken > MAX_SPOKEN_CHARS:
        return f"the text is {spoken} characters when spoken; the limit is {MAX_SPOKEN_CHARS}"
    return None


def emotion_of(member: Member, emotion: str) -> str | None:
    """The speaker's label `emotion` names (case aside), or None when it has no such image."""
    wanted = emotion.strip().casefold()
    return next((label for label in member.labels if label.casefold() == wanted), None)


def pause_problem(pause_ms: int) -> str | None:
    if not 0 <= pause_ms <= MAX_PAUSE_MS:
        return f"the pause is {pause_ms} ms; it must be 0 to {MAX_PAUSE_MS}"
    return None
