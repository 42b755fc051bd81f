"""Cutting long text where no rule reads across the cut, so each step can work piece by piece.

Text planning runs in a thread, but a single C call (a Unicode normalisation, one pattern's pass
over the text) holds the GIL until it returns, and the event loop waits that long. Worked a few
thousand characters at a time, with each piece giving the same result as the whole, the loop
waits milliseconds at most however long the text is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# Characters per piece, before a cut is looked for: a pattern's pass over this much takes well
# under a millisecond.
PIECE = 8192
# How far back the word before a space is checked to be letters only.
_WORD = 8
# Candidates for `_plain_space`, found in C: a space between two letters.
_BETWEEN_LETTERS = re.compile(r"(?<=[^\W\d_]) (?=[^\W\d_])")


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
    """`text` in consecutive pieces that each normalise (NFKC) as they would inside the whole.

    Each is cut at the first safe place `PIECE` characters or more from its start.
    """
    start = 0
    while len(text) - start > PIECE:
        cut = start + PIECE
        while cut < len(text) and not _nfkc_safe(text, cut):
            cut += 1
        yield text[start:cut]
        start = cut
    yield text[start:]


def _plain_space(text: str, i: int) -> bool:
    """Whether the space at `text[i]`, between two letters, lies between a word of letters and a
    word that begins with a letter in lower case (or one without case): no English rule matches
    across such a space.

    Rules that do read across a space all involve a digit, a period or a capital letter on one
    side of it ("5 May", "the 5th of May", "Mr. Smith", "etc. The", "Main St.", "$5 million").
    """
    after = text[i + 1]
    if not after.isalpha() or after.isupper():
        return False
    for j in range(i - 1, max(-1, i - 1 - _WORD), -1):
        if text[j] == " " or text[j] == "\n":
            return True
        if not text[j].isalpha():
            return False
    return True


def word_pieces(text: str) -> Iterator[str]:
    """`text` in pieces to be joined again by single spaces, cut only at `_plain_space`s.

    Each is cut at the first such space `PIECE` characters or more from its start; a stretch
    with none (no spaces at all, say) stays whole, its length bounded by what a request may send.
    """
    start = 0
    while len(text) - start > PIECE:
        cut = next(
            (
                m.start()
                for m in _BETWEEN_LETTERS.finditer(text, start + PIECE)
                if _plain_space(text, m.start())
            ),
            -1,
        )
        if cut < 0:
            break
        yield text[start:cut]
        start = cut + 1
    yield text[start:]
