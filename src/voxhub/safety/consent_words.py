"""Comparing what a consent recording says with the phrase it had to say.

Both sides go through the same normalisation: lower case, no punctuation, and numbers as one
digit string per run of number words or digits, so "4271", "4, 2, 7, 1", "four two seven one"
and "forty-two seventy-one" all become the token "4271". A code is then one token, matched
exactly, and a recogniser's choice between digits and words costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_UNITS = {
    "zero": 0,
    "oh": 0,
    "o": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
# "o" and "oh" are digits only between other number words ("four oh seven one"); alone they
# are the interjection.
_WEAK_ZEROS = {"o", "oh"}
# Hyphens and slashes join words ("forty-two", "well-known"): split them on both sides.
_JOINERS = re.compile(r"[-\u2010-\u2015/]+")
# Apostrophes vanish ("there's" -> "theres"): recognisers differ in which one they write.
_APOSTROPHES = re.compile(r"['\u2018\u2019`]")
_NOT_WORD = re.compile(r"[^a-z0-9 ]+")


def _raw_words(text: str) -> list[str]:
    lowered = _APOSTROPHES.sub("", _JOINERS.sub(" ", text.lower()))
    return _NOT_WORD.sub(" ", lowered).split()


def _number_piece(words: Sequence[str], i: int) -> tuple[str, int] | None:
    """The digits the number word(s) at `i` stand for and how many words they use."""
    word = words[i]
    if word.isdigit():
        return word, 1
    if word in _TENS:
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if nxt in _UNITS and _UNITS[nxt] > 0 and nxt not in _WEAK_ZEROS:
            return str(_TENS[word] + _UNITS[nxt]), 2
        return str(_TENS[word]), 1
    if word in _TEENS:
        return str(_TEENS[word]), 1
    if word in _UNITS and word not in _WEAK_ZEROS:
        return str(_UNITS[word]), 1
    return None


def normalise_words(text: str) -> list[str]:
    """Words for comparison; each run of numbers (digits or words) is one digit token."""
    words = _raw_words(text)
    out: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(words):
        piece = _number_piece(words, i)
        if piece is None and run and words[i] in _WEAK_ZEROS:
            piece = ("0", 1)
        if piece is None:
            if run:
                out.append("".join(run))
                run = []
            out.append(words[i])
            i += 1
            continue
        run.append(piece[0])
        i += piece[1]
    if run:
        out.append("".join(run))
    return out


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein word edits per reference word, after `normalise_words` on both sides."""
    ref, hyp = normalise_words(reference), normalise_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        cur = [i]
        for j, h in enumerate(hyp, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1] / len(ref)


def says_code(transcript: str, code: str) -> bool:
    """Whether one run of numbers in the transcript is exactly the code."""
    return code in normalise_words(transcript)
