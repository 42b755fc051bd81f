"""The words that will be said: what the engine speaks, and what the text limits count."""

from __future__ import annotations

from voxhub.text.english import expand_english
from voxhub.text.normalize import normalize_text


def in_words(normalized: str, language: str) -> str:
    """Normalised text as it will be said: for English, numbers and symbols spelled out."""
    return expand_english(normalized) if language.lower().startswith("en") else normalized


def spoken_text(text: str, language: str) -> str:
    """`text` cleaned for speech and put in words (see `in_words`).

    Blocking, linear in the length of `text`; callers on an event loop run it in a thread.
    """
    return in_words(normalize_text(text), language)
