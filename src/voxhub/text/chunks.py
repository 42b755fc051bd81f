"""Cutting long text where no rule reads across the cut, so each step can work piece by piece.

Text planning runs in a thread, but a single C call (a Unicode normalisation, one pattern's pass
over the text) holds the GIL until it returns, and the event loop waits that long. Worked a few
thousand characters at a time, with each piece giving the same result as the whole, the loop
waits milliseconds at most however long the text is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

# Characters per piece, before a cut is looked for: a pattern's pass over this much takes well
# under a millisecond.
PIECE = 8192
# How far past `PIECE` a cut is looked for before the piece is simply left longer.
_SEARCH = 4096
# How far back the word before a space is checked to be letters only.
_WORD = 8


def _nfkc_safe(text: str, i: int) -> bool:
    """Whether NFKC of `text` is NFKC of `text[:i]` followed by NFKC of `text[i:]`.

    True before any ASCII character, a starter that composes with nothing before it; else when
    `text[i]` and its normal form start with a starter and it does not compose with the
    character before it (a starter is only ever composed with the character just before it).
    """
    ch = text[i]
    if ch.isascii():
        return True
    own = unicodedata.normalize("NFKC", ch)
    if unicodedata.combining(ch) or not own or unicodedata.combining(own[0]):
        return False
    pair = unicodedata.normalize("NFKC", text[i - 1 : i + 1])
    return pair == unicodedata.normalize("NFKC", text[i - 1]) + own


def nfkc_pieces(text: str) -> Iterator[str]:
    """`text` in consecutive pieces that each normalise (NFKC) as they would inside the whole."""
    start = 0
    while len(text) - start > PIECE:
        cut = start + PIECE
        end = min(len(text), cut + _SEARCH)
        while cut < end and not _nfkc_safe(text, cut):
            cut += 1
        if cut == end:
            cut = _next_ascii(text, end)
        yield text[start:cut]
        start = cut
    yield text[start:]


def _next_ascii(text: str, at: int) -> int:
    """The index of the first ASCII character at or after `at`, or the end of `text`."""
    for i in range(at, len(text)):
        if text[i].isascii():
            return i
    return len(text)


def _plain_space(text: str, i: int) -> bool:
    """Whether `text[i]` is a space between a word of letters and a word that begins with a
    letter in lower case (or one without case): no English rule matches across such a space.

    Rules that do read across a space all involve a digit, a period or a capital letter on one
    side of it ("5 May", "the 5th of May", "Mr. Smith", "etc. The", "Main St.", "$5 million").
    """
    if text[i] != " " or i + 1 >= len(text):
        return False
    after = text[i + 1]
    if not after.isalpha() or after.isupper():
        return False
    for j in range(i - 1, max(-1, i - 1 - _WORD), -1):
        if text[j] == " " or text[j] == "\n":
            return j < i - 1
        if not text[j].isalpha():
            return False
    return True


def word_pieces(text: str) -> Iterator[str]:
    """`text` in pieces to be joined again by single spaces, cut only at `_plain_space`s.

    A stretch with no such space (no spaces at all, say) stays whole: its length is bounded by
    what a request may send.
    """
    start = 0
    while len(text) - start > PIECE:
        cut = start + PIECE
        end = min(len(text), cut + _SEARCH)
        while cut < end and not _plain_space(text, cut):
            cut += 1
        if cut == end:
            cut = _next_plain_space(text, end)
            if cut == len(text):
                break
        yield text[start:cut]
        start = cut + 1
    yield text[start:]


def _next_plain_space(text: str, at: int) -> int:
    i = text.find(" ", at)
    while i != -1:
        if _plain_space(text, i):
            return i
        i = text.find(" ", i + 1)
    return len(text)
