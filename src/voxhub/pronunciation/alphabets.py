"""Phoneme alphabets a rule may be written in: IPA, or CMU ARPAbet (turned into IPA here)."""

# IPA letters and marks that look like ASCII ones are this file's subject, not typos.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import re

# CMU Pronouncing Dictionary symbols (ARPAbet, stress as a trailing 0/1/2 on vowels) -> IPA, as
# the CMU dictionary's own documentation lists them. AH0 and ER0 are the unstressed vowels.
ARPABET = {
    "AA": "ɑ",
    "AE": "æ",
    "AH": "ʌ",
    "AH0": "ə",
    "AO": "ɔ",
    "AW": "aʊ",
    "AY": "aɪ",
    "B": "b",
    "CH": "tʃ",
    "D": "d",
    "DH": "ð",
    "EH": "ɛ",
    "ER": "ɝ",
    "ER0": "ɚ",
    "EY": "eɪ",
    "F": "f",
    "G": "ɡ",
    "HH": "h",
    "IH": "ɪ",
    "IY": "i",
    "JH": "dʒ",
    "K": "k",
    "L": "l",
    "M": "m",
    "N": "n",
    "NG": "ŋ",
    "OW": "oʊ",
    "OY": "ɔɪ",
    "P": "p",
    "R": "ɹ",
    "S": "s",
    "SH": "ʃ",
    "T": "t",
    "TH": "θ",
    "UH": "ʊ",
    "UW": "u",
    "V": "v",
    "W": "w",
    "Y": "j",
    "Z": "z",
    "ZH": "ʒ",
}
_STRESS = {"1": "ˈ", "2": "ˌ", "0": "", "": ""}
# The exact strings a rule may hold, as regular expressions that the API's schema publishes too
# (a client or fuzzer can tell valid phonemes from the schema alone).
_SYMBOLS = "|".join(sorted({key.rstrip("0") for key in ARPABET}, key=lambda k: (-len(k), k)))
ARPABET_PATTERN = rf"^\s*(?:{_SYMBOLS})[012]?(?:\s+(?:{_SYMBOLS})[012]?)*\s*$"
# IPA: Latin letters (basic, Latin-1, extended, IPA extensions, phonetic extensions), Greek
# (β, θ, χ), modifier letters (ˈ ˌ ː ʰ ʲ), combining diacritics, spaces, "." and "‿"; at least
# one letter that is a sound rather than a mark.
_SOUNDS = "a-zA-Z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02af\u0370-\u03ff\u1d00-\u1dbf"
_IPA_ALL = _SOUNDS + "\u02b0-\u036f\u203f .'"
IPA_PATTERN = rf"^[{_IPA_ALL}]*[{_SOUNDS}][{_IPA_ALL}]*$"
_ARPABET_RE = re.compile(ARPABET_PATTERN)
_IPA_RE = re.compile(IPA_PATTERN)
_SYMBOL = re.compile(r"([A-Z]{1,2})([012]?)")


def arpabet_to_ipa(arpabet: str) -> str:
    """IPA for space-separated ARPAbet in capitals ("T AH0 M EY1 T OW2")."""
    if not _ARPABET_RE.fullmatch(arpabet):
        raise ValueError(
            "phoneme is CMU ARPAbet: symbols in capitals with an optional stress digit,"
            f' separated by spaces, as "T AH0 M EY1 T OW2" (got {arpabet!r})'
        )
    out: list[str] = []
    for symbol in arpabet.split():
        found = _SYMBOL.fullmatch(symbol)
        assert found is not None  # the pattern above admits only these
        base, stress = found.groups()
        ipa = ARPABET.get(base + stress) or ARPABET[base]
        # A stress mark goes before the stressed vowel, where Kokoro-style phonemes carry it.
        out.append(_STRESS[stress] + ipa)
    return "".join(out)


def check_ipa(ipa: str) -> str:
    """The IPA string itself; ValueError when it holds anything but IPA letters and marks."""
    if not _IPA_RE.fullmatch(ipa):
        raise ValueError(
            "phoneme is IPA: letters, stress and length marks and diacritics, with at least"
            f" one sound (got {ipa!r})"
        )
    return ipa


def to_ipa(phoneme: str, alphabet: str) -> str:
    """A rule's phonemes in IPA, checked."""
    return check_ipa(arpabet_to_ipa(phoneme) if alphabet == "cmu-arpabet" else phoneme)
