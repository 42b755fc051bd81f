"""Sentence and clause splitting, so long text can be spoken (and streamed) piece by piece."""

from __future__ import annotations

import re

# Words whose trailing period is not a sentence end (lower case, without the period).
_ABBREVIATION_WORDS = (
    "mr mrs ms dr prof st mt jr sr capt gen sgt lt col rev hon vs no nos approx dept fig figs "
    "vol vols ch p pp e.g i.e cf al inc ltd co corp ave blvd rd est jan feb mar apr jun jul aug "
    "sep sept oct nov dec mon tue wed thu fri sat sun"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
# A candidate end: terminal punctuation, any closing quotes or brackets, then space or the end.
# A run of marks is only tried from its first mark: tried from each one, a long run followed by
# a letter cost time quadratic in its length. From its first mark an attempt is linear: the two
# runs hold disjoint characters, so backing off either one fails at once.
_END = re.compile(r"(?:(?<![.!?])[.!?]+|…)[\"')\]]*(?=\s|$)")
_TERMINAL = ".!?…"
_WORD_WINDOW = 40  # how far back the word before a mark is looked for
_CLAUSE = re.compile(r"(?<=[,;:\u2014])\s+")


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Whether the punctuation at `match` really ends a sentence."""
    mark = match.group(0)
    if "!" in mark or "?" in mark:
        return True
    # Indices, not slices: a copy of the rest of the text at every mark is quadratic too.
    after = match.end()
    while after < len(text) and text[after] in " \t":
        after += 1
    follower = text[after : after + 1]
    if follower.islower() or follower.isdigit():
        return False  # "approx. five", "p. 12", "wait... what": lower case never starts a sentence
    if "…" in mark or "..." in mark:
        return True
    word = _word_before(text, match.start()).lower().lstrip("\"'([")
    if word in _ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha():
        return False  # an initial: "J. Smith"
    # Dotted acronyms ("U.S.A.") end a sentence only when a capitalised word follows.
    return not (re.fullmatch(r"(?:[a-z]\.)+[a-z]", word) and not follower.isupper())


def _word_before(text: str, end: int) -> str:
    """The word that ends at `end` (at most `_WORD_WINDOW` characters of it), less any marks."""
    start = end
    floor = max(0, end - _WORD_WINDOW)
    while start > floor and not text[start - 1].isspace():
        start -= 1
    return text[start:end].rstrip(_TERMINAL)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at . ! ? … and newlines, not at abbreviations or decimals."""
    sentences: list[str] = []
    for line in text.split("\n"):
        start = 0
        for match in _END.finditer(line):
            if _is_boundary(line, match):
                sentences.append(line[start : match.end()])
                start = match.end()
        sentences.append(line[start:])
    return [s.strip() for s in sentences if s.strip()]


def _split_words(piece: str, max_chars: int) -> list[str]:
    """Greedy split at spaces; a single word longer than `max_chars` is cut."""
    out: list[str] = []
    current = ""
    for word in piece.split():
        if len(word) > max_chars:
            if current:
                out.append(current)
                current = ""
            # Cut by index: shortening the word one cut at a time copies it each time.
            cut = (len(word) - 1) // max_chars * max_chars
            out.extend(word[i : i + max_chars] for i in range(0, cut, max_chars))
            word = word[cut:]
        if current and len(current) + 1 + len(word) > max_chars:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        out.append(current)
    return out


def split_clauses(sentence: str, max_chars: int) -> list[str]:
    """Split a long sentence at , ; : — (then at spaces) so no piece exceeds `max_chars`."""
    sentence = sentence.strip()
    if len(sentence) <= max_chars:
        return [sentence] if sentence else []
    max_chars = max(1, max_chars)
    pieces: list[str] = []
    for clause in (c.strip() for c in _CLAUSE.split(sentence)):
        if not clause:
            continue
        parts = [clause] if len(clause) <= max_chars else _split_words(clause, max_chars)
        for part in parts:
            # Merge short clauses back together: many tiny pieces sound choppy.
            if pieces and len(pieces[-1]) + 1 + len(part) <= max_chars:
                pieces[-1] = f"{pieces[-1]} {part}"
            else:
                pieces.append(part)
    return pieces
