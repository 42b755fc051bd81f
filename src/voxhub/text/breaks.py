"""Pauses written into speech text as `<break time="500ms"/>`, the SSML tag ElevenLabs reads too.

Text is cut at its break tags into pieces, each spoken on its own, with silence between them.
A speech request's stored text keeps its breaks in one canonical spelling (`join_breaks`), so
identical requests hit the same cache entry however their tags were written.
"""

from __future__ import annotations

import re

from voxhub.core.errors import InvalidInput

# One pause may last up to 5 s (ElevenLabs allows 3 s; a longer gap is better made by splitting
# the text). Consecutive tags add up, within the same bound.
MAX_BREAK_S = 5.0
# More tags than this make one request a sequence of tiny engine calls: split the text instead.
MAX_BREAKS = 200
# SSML's strengths (W3C SSML 1.1 §3.2.3 leaves the lengths to the processor).
STRENGTHS = {
    "none": 0.0,
    "x-weak": 0.1,
    "weak": 0.25,
    "medium": 0.5,
    "strong": 0.8,
    "x-strong": 1.2,
}

# `<break .../>` with anything but angle brackets inside: linear, and a stray "<" stays text.
_TAG = re.compile(r"<\s*break\b([^<>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""\s*([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_DURATION = re.compile(r"\s*(\d{1,6}(?:\.\d{1,3})?)\s*(ms|s)\s*", re.IGNORECASE)


class InvalidBreak(InvalidInput):
    """A `<break>` tag that cannot be read, or a pause that is too long."""

    code = "invalid_break"
    title = "Invalid break"


def split_breaks(text: str) -> list[tuple[str, float]]:
    """`text` as (piece, seconds of silence after it) pairs; one pair when it has no breaks."""
    pieces: list[tuple[str, float]] = []
    start = 0
    pause = 0.0
    for tags, match in enumerate(_TAG.finditer(text), start=1):
        if tags > MAX_BREAKS:
            raise InvalidBreak(f"text has more than {MAX_BREAKS} break tags: split it")
        piece = text[start : match.start()]
        if piece.strip() or not pieces:
            pieces.append((piece, 0.0))
            pause = 0.0
        pause += _seconds(match.group(0), match.group(1))
        if pause > MAX_BREAK_S:
            raise InvalidBreak(
                f"a pause may last up to {MAX_BREAK_S:g} s ({pause:g} s here, counting the"
                " break tags next to each other)"
            )
        pieces[-1] = (pieces[-1][0], pause)
        start = match.end()
    pieces.append((text[start:], 0.0))
    return pieces


def has_break(text: str) -> bool:
    """Whether `text` holds a break tag (one that cleaning revealed, say, from `<\u200bbreak`)."""
    return _TAG.search(text) is not None


def join_breaks(pieces: list[tuple[str, float]]) -> str:
    """The canonical text of pieces and pauses: each pause as one `<break time="Nms"/>`."""
    out: list[str] = []
    for piece, pause in pieces:
        if piece:
            out.append(piece)
        if pause > 0:
            out.append(f'<break time="{round(pause * 1000)}ms"/>')
    return " ".join(out)


def _seconds(tag: str, inside: str) -> float:
    body = inside.strip()
    if body.endswith("/"):
        body = body[:-1]
    attributes: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        found = _ATTRIBUTE.match(body, pos)
        if found is None:
            if body[pos:].strip():
                raise InvalidBreak(f'cannot read {tag!r}: write <break time="500ms"/>')
            break
        attributes[found.group(1).lower()] = found.group(2) or found.group(3) or ""
        pos = found.end()
    unknown = set(attributes) - {"time", "strength"}
    if unknown:
        raise InvalidBreak(f"{tag!r}: a break takes `time` or `strength`, not {sorted(unknown)}")
    if "time" in attributes:
        duration = _DURATION.fullmatch(attributes["time"])
        if duration is None:
            raise InvalidBreak(f'{tag!r}: time is milliseconds or seconds, as "500ms" or "1.5s"')
        value = float(duration.group(1))
        return value / 1000 if duration.group(2).lower() == "ms" else value
    strength = attributes.get("strength", "medium").lower()
    if strength not in STRENGTHS:
        raise InvalidBreak(f"{tag!r}: strength is one of {', '.join(STRENGTHS)}")
    return STRENGTHS[strength]
