"""Finding listed words and phrases in text, whole words only, in one pass.

Pronunciation dictionaries hold up to thousands of entries and texts run to 200,000 characters:
a regular expression alternating over every entry would try each entry at each position. Here
the text is cut into words once and each word start looks up its next one to `longest` words in
a dict, so the cost is linear in the text (times the longest phrase) whatever the entry count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Generic, TypeVar

# A word: letters or digits, with inner apostrophes, periods or hyphens ("O'Neill", "e.g",
# "GPT-4"). A phrase is words separated by single spaces (how `phrase_key` spells entries).
WORD = re.compile(r"[^\W_]+(?:['\u2019.\-][^\W_]+)*")
_SPACE = re.compile(r"\s+")
T = TypeVar("T")


def phrase_key(text: str) -> str:
    """An entry as matching spells it: words joined by one space."""
    return " ".join(_SPACE.split(text.strip()))


@dataclass(frozen=True)
class Found(Generic[T]):
    start: int
    end: int
    text: str  # as written in the text
    value: T


def find_phrases(text: str, lookup: Callable[[str], T | None], longest: int) -> Iterator[Found[T]]:
    """Non-overlapping matches, left to right, the longest phrase first at each word.

    `lookup` takes a candidate phrase as written (words joined by one space) and answers its
    value or None. Words count as one phrase only when only white space separates them.
    """
    words = list(WORD.finditer(text))
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            span = words[i : i + n]
            if not all(text[a.end() : b.start()].isspace() for a, b in pairwise(span)):
                continue
            written = " ".join(w.group(0) for w in span)
            value = lookup(written)
            if value is not None:
                start, end = span[0].start(), span[-1].end()
                yield Found(start, end, text[start:end], value)
                i += n
                break
        else:
            i += 1
