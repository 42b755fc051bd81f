"""Applying dictionaries to speech text: aliases rewrite the text, phoneme rules go to the engine.

An alias is applied to the text itself, so every engine says it and the text limit counts it.
A phoneme rule leaves the word in the text (captions and timings still show it) and hands the
engine a (phrase, IPA) pair, keyed as the engine will see the phrase after its own expansion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from voxhub.core.errors import TextTooLong
from voxhub.pronunciation.schemas import LONGEST_PHRASE, AliasRule, PhonemeRule
from voxhub.text.normalize import normalize_text
from voxhub.text.phrases import find_phrases
from voxhub.text.spoken import in_words


@dataclass(frozen=True)
class _Entry:
    kind: str  # "alias" or "phoneme"
    value: str  # the alias, or the phonemes in IPA
    # Which dictionary of the request it came from, and 0 for a case-sensitive rule, 1 for one
    # that ignores case: the smallest wins a phrase both kinds match.
    rank: tuple[int, int] = (0, 0)


@dataclass
class Lexicon:
    """Rules of one or more dictionaries; the first dictionary named wins a shared phrase."""

    exact: dict[str, _Entry] = field(default_factory=dict)
    folded: dict[str, _Entry] = field(default_factory=dict)  # case-insensitive, by casefold()
    # The version of each dictionary read (by id), so a job can be held to them.
    versions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, dictionaries: Sequence[Sequence[AliasRule | PhonemeRule]]) -> Lexicon:
        lexicon = cls()
        for n, rules in enumerate(dictionaries):
            for rule in rules:
                rank = (n, 0 if rule.case_sensitive else 1)
                entry = (
                    _Entry("alias", rule.alias, rank)
                    if isinstance(rule, AliasRule)
                    else _Entry("phoneme", rule.ipa, rank)
                )
                # Spelled as the text it is looked for in was cleaned (quotes straightened).
                phrase = normalize_text(rule.string_to_replace) or rule.string_to_replace
                if rule.case_sensitive:
                    lexicon.exact.setdefault(phrase, entry)
                else:
                    lexicon.folded.setdefault(phrase.casefold(), entry)
        return lexicon

    def __bool__(self) -> bool:
        return bool(self.exact or self.folded)

    def lookup(self, written: str) -> _Entry | None:
        found = [e for e in (self.exact.get(written), self.folded.get(written.casefold())) if e]
        return min(found, key=lambda e: e.rank) if found else None


@dataclass(frozen=True)
class Pronounced:
    text: str
    phonemes: tuple[tuple[str, str], ...]  # (phrase as the engine sees it, IPA), one per phrase


def pronounce(lexicon: Lexicon, text: str, language: str, budget: int | None = None) -> Pronounced:
    """`text` with aliases said instead of their phrases, and the phoneme rules it uses.

    TextTooLong as soon as the aliases have lengthened the text by more than `budget`
    characters. Blocking (linear in the text): called with the other text checks, in a thread.
    """
    if not lexicon:
        return Pronounced(text, ())
    out: list[str] = []
    phonemes: dict[str, str] = {}
    last = 0
    grown = 0
    for found in find_phrases(text, lexicon.lookup, LONGEST_PHRASE):
        entry = found.value
        if entry.kind == "alias":
            out.append(text[last : found.start])
            out.append(entry.value)
            last = found.end
            grown += len(entry.value) - (found.end - found.start)
            if budget is not None and grown > budget:
                raise TextTooLong(
                    f"the pronunciation dictionaries' aliases make this text more than {budget}"
                    " characters longer: too long to speak",
                    limit=budget,
                )
        else:
            spoken = in_words(found.text, language).strip() or found.text
            phonemes.setdefault(spoken, entry.value)
    out.append(text[last:])
    return Pronounced("".join(out), tuple(sorted(phonemes.items())))
