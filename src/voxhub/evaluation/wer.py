"""Word error rate, after the same text normalisation on the reference and the hypothesis."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from voxhub.text import expand_english, normalize_text

# Hyphens and slashes join words ("forty-two", "and/or"): split them so both sides agree.
_JOINERS = re.compile(r"[-\u2014/]+")
# Apostrophes vanish ("there's" -> "theres") rather than split: Whisper and transcripts
# differ in which apostrophe they use and whether they keep it at all.
_APOSTROPHES = re.compile(r"['\u2019]")
_NOT_WORD = re.compile(r"[^a-z0-9 ]+")


def normalise_words(text: str) -> list[str]:
    """Lower-case words with digits, money, titles etc. spelt out by voxhub's own expander.

    Running both sides through `expand_english` means "42" from Whisper and "forty-two" in the
    sentence compare equal, exactly as the engine reads them.
    """
    spoken = expand_english(normalize_text(text)).lower()
    spoken = _APOSTROPHES.sub("", _JOINERS.sub(" ", spoken))
    return _NOT_WORD.sub(" ", spoken).split()


@dataclass(frozen=True)
class WordErrors:
    """Edit counts of a hypothesis against a reference, in words."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def errors(self) -> int:
        """Substitutions + deletions + insertions."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        """Errors per reference word; 1.0 for words said over an empty reference."""
        if self.reference_words == 0:
            return 0.0 if self.errors == 0 else 1.0
        return self.errors / self.reference_words


def align(reference: Sequence[str], hypothesis: Sequence[str]) -> WordErrors:
    """Levenshtein alignment of two word lists, counting each kind of edit."""
    n, m = len(reference), len(hypothesis)
    # Each cell holds (cost, substitutions, deletions, insertions) of the best path to it.
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, m + 1):
            if reference[i - 1] == hypothesis[j - 1]:
                cur.append(prev[j - 1])
                continue
            sub, dele, ins = prev[j - 1], prev[j], cur[j - 1]
            # Ties prefer a substitution, then a deletion: the usual convention.
            if sub[0] <= dele[0] and sub[0] <= ins[0]:
                cur.append((sub[0] + 1, sub[1] + 1, sub[2], sub[3]))
            elif dele[0] <= ins[0]:
                cur.append((dele[0] + 1, dele[1], dele[2] + 1, dele[3]))
            else:
                cur.append((ins[0] + 1, ins[1], ins[2], ins[3] + 1))
        prev = cur
    _, s, d, ins_count = prev[m]
    return WordErrors(s, d, ins_count, n)


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Edit counts after normalising both texts."""
    return align(normalise_words(reference), normalise_words(hypothesis))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of `hypothesis` against `reference`, both normalised."""
    return word_errors(reference, hypothesis).wer


def pooled_wer(counts: Sequence[WordErrors]) -> float:
    """All errors over all reference words: long sentences weigh more, as they should."""
    words = sum(c.reference_words for c in counts)
    errors = sum(c.errors for c in counts)
    if words == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / words
