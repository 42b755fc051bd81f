"""Caption cues from word timings, and the two subtitle formats players read (SRT, WebVTT).

A cue is what is on screen at once: at most `max_lines` lines of `max_chars`, one sentence or a
piece of one, never spanning a long pause. Times are seconds on the dialogue's timeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# A word that ends a sentence: . ! ? or … optionally followed by closing quotes or brackets.
_CLOSERS = "\"'\u201d\u2019)\\]"  # straight and curly closing quotes, brackets
_SENTENCE_END = re.compile(f"[.!?\u2026][{_CLOSERS}]*$")
# A word after which a break reads naturally if the cue is already long.
_CLAUSE_END = re.compile(f"[,;:\u2013\u2014][{_CLOSERS}]*$")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def wrap(text: str, max_chars: int) -> list[str]:
    """Greedy word wrap; a single word longer than a line is cut into line-sized pieces."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    lines: list[str] = []
    line = ""
    for word in text.split():
        while len(word) > max_chars:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:max_chars])
            word = word[max_chars:]
        if not word:
            continue
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= max_chars:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def cues_from_words(
    words: Sequence[tuple[str, float, float]],
    *,
    max_chars: int = 42,
    max_lines: int = 2,
    max_gap_s: float = 0.8,
    max_cue_s: float = 6.0,
) -> list[Cue]:
    """Group timed words into cues.

    A new cue starts after a sentence end, across a silence longer than `max_gap_s`, when the next
    word would not fit in `max_lines` wrapped lines or would keep the cue up past `max_cue_s`, and
    after a comma-like mark once the cue already fills a line (so the break falls on a clause).
    """
    cues: list[Cue] = []
    text: list[str] = []
    start = end = 0.0

    def flush() -> None:
        if text:
            cues.append(Cue(start, end, " ".join(text)))
            text.clear()

    for raw, w_start, w_end in sorted(words, key=lambda w: w[1]):
        word = " ".join(raw.split())
        if not word:
            continue
        w_end = max(w_end, w_start)
        if text:
            too_long = len(wrap(" ".join([*text, word]), max_chars)) > max_lines
            if w_start - end > max_gap_s or too_long or w_end - start > max_cue_s:
                flush()
        if text:
            end = max(end, w_end)
        else:
            start, end = w_start, w_end
        text.append(word)
        clause_break = _CLAUSE_END.search(word) and len(" ".join(text)) >= max_chars
        if _SENTENCE_END.search(word) or clause_break:
            flush()
    flush()
    return cues


def _timestamp(seconds: float, separator: str) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _lines(cue: Cue, max_chars: int) -> list[str]:
    # A blank line ends a cue in both formats, so a cue's text never carries one.
    return wrap(cue.text, max_chars) or ["…"]


def to_srt(cues: Iterable[Cue], *, max_chars: int = 42) -> str:
    """SubRip: numbered blocks, `00:00:01,250 --> 00:00:02,000`, a blank line after each."""
    blocks = []
    for number, cue in enumerate(cues, start=1):
        times = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        blocks.append("\n".join([str(number), times, *_lines(cue, max_chars)]) + "\n")
    return "\n".join(blocks)


def _vtt_escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: Iterable[Cue], *, max_chars: int = 42) -> str:
    """WebVTT: the `WEBVTT` header, then `00:00:01.250 --> 00:00:02.000` blocks."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        times = f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}"
        lines = [_vtt_escape(line) for line in _lines(cue, max_chars)]
        blocks.append("\n".join([times, *lines]) + "\n")
    return "\n".join(blocks)
