"""Character times for a text, from the engine's word times (ElevenLabs' alignment shape).

The engines time words, not characters (the embedded one shares each piece's speech out by
phonemes, see `voxhub.engines.embedded.pieces.word_timings`), and they time the words they
spoke: the normalised, expanded text ("12" spoken as "twelve"). So the sent text's words are
matched to the spoken ones in order (`difflib` on lower-cased letters and digits): a word that
matches takes its spoken word's time; a run that was rewritten ("Dr." for "Doctor", "12" for
"twelve") shares the time of what it was spoken as, by length; a word not spoken at all (an
emoji) takes no time. Inside a word the characters share its time evenly; the spaces and
punctuation between two words span the gap between them (the silence, if any). This is as
exact as the word times and no more.

Fed as a stream, only what can no longer change is given out: text up to the last word that
matched exactly; the rest waits for more words or for `finish`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

Timed = tuple[str, float, float]  # a spoken word, its start and end on the audio's timeline
_TOKEN = re.compile(r"\S+")
# How far past the words heard so far a streamed match may look into the text.
_SLACK = 8
# Words matched per `difflib` call (see `Aligner.feed`).
_BATCH = 256


def _key(word: str) -> str:
    letters = "".join(ch for ch in word.lower() if ch.isalnum())
    return letters or word.lower()


class Chars:
    """Characters and their times, as ElevenLabs' `alignment` lists them."""

    def __init__(self) -> None:
        self.characters: list[str] = []
        self.starts: list[float] = []
        self.ends: list[float] = []

    def add(self, text: str, start: float, end: float) -> None:
        """`text`'s characters sharing [start, end] evenly."""
        n = len(text)
        for i, ch in enumerate(text):
            self.characters.append(ch)
            self.starts.append(round(start + (end - start) * i / n, 3))
            self.ends.append(round(start + (end - start) * (i + 1) / n, 3))

    def extend(self, other: Chars) -> None:
        """`other`'s characters after these."""
        self.characters += other.characters
        self.starts += other.starts
        self.ends += other.ends

    def as_json(self) -> dict[str, Any] | None:
        """ElevenLabs' `CharacterAlignmentResponseModel`, or None when empty."""
        if not self.characters:
            return None
        return {
            "characters": self.characters,
            "character_start_times_seconds": self.starts,
            "character_end_times_seconds": self.ends,
        }


class Aligner:
    """Times the characters of `text` as the engine's words arrive. Blocking (linear in what
    is fed, with a bounded window): call it in a thread."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
        self.keys = [_key(text[a:b]) for a, b in self.tokens]
        self.times: list[tuple[float, float]] = []  # per timed token, in order
        self.pending: list[Timed] = []  # words not yet matched for good
        self.clock = 0.0  # end of the last timed token
        self.emitted = 0  # tokens already given out
        self.char = 0  # characters already given out

    def feed(self, words: Sequence[Timed]) -> Chars:
        """The characters settled by these words (possibly none yet)."""
        out = Chars()
        # A few hundred words at a time: `difflib` is quadratic in what one call compares, and
        # a whole long text in one call took most of a minute.
        for i in range(0, len(words), _BATCH):
            self.pending += words[i : i + _BATCH]
            self._settle(final=False)
            out.extend(self._emit(None))
        return out

    def finish(self, duration: float) -> Chars:
        """Every remaining character; trailing spaces and punctuation run to `duration`."""
        self._settle(final=True)
        return self._emit(max(duration, self.clock))

    def _settle(self, final: bool) -> None:
        first = len(self.times)
        words = self.pending
        if not words:
            if final:
                self._place(first, len(self.tokens), None, None)
            return
        stop = len(self.tokens) if final else first + len(words) + _SLACK
        window = self.keys[first:stop]
        ops = SequenceMatcher(None, window, [_key(w) for w, _, _ in words], False).get_opcodes()
        if not final:
            last = max((k for k, op in enumerate(ops) if op[0] == "equal"), default=-1)
            ops = ops[: last + 1]
        used = 0
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal":
                for k in range(i2 - i1):
                    _, s, e = words[j1 + k]
                    self._time(s, e)
            elif tag == "replace":
                self._place(first + i1, first + i2, words[j1][1], words[j2 - 1][2])
            elif tag == "delete":
                self._place(first + i1, first + i2, None, None)
            used = j2
        self.pending = words[used:] if not final else []

    def _place(self, a: int, b: int, start: float | None, end: float | None) -> None:
        """Tokens a..b share [start, end] by length; no times: none of them was spoken."""
        s = self.clock if start is None else max(start, self.clock)
        e = s if end is None else max(end, s)
        lengths = [self.tokens[k][1] - self.tokens[k][0] for k in range(a, b)]
        total = sum(lengths) or 1
        at = s
        for n in lengths:
            step = (e - s) * n / total
            self._time(at, at + step)
            at += step

    def _time(self, start: float, end: float) -> None:
        start = max(start, self.clock)
        end = max(end, start)
        self.times.append((start, end))
        self.clock = end

    def _emit(self, duration: float | None) -> Chars:
        out = Chars()
        prev_end = self.times[self.emitted - 1][1] if self.emitted else 0.0
        for k in range(self.emitted, len(self.times)):
            (a, b), (s, e) = self.tokens[k], self.times[k]
            if a > self.char:  # the gap before this word spans the silence before it
                out.add(self.text[self.char : a], prev_end, s)
            out.add(self.text[a:b], s, e)
            self.char, prev_end = b, e
        self.emitted = len(self.times)
        if duration is not None and self.char < len(self.text):
            out.add(self.text[self.char :], prev_end, duration)
            self.char = len(self.text)
        return out


def spoken_chars(words: Sequence[Timed], leading_space: bool) -> Chars:
    """ElevenLabs' `normalized_alignment`: the words as spoken, a space between them."""
    out = Chars()
    prev: float | None = None
    for i, (word, s, e) in enumerate(words):
        if i or leading_space:
            out.add(" ", s if prev is None else prev, s)
        out.add(word, s, e)
        prev = e
    return out
