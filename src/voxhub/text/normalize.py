"""Text clean-up before speech: `normalize_text` for any language, `expand_english` for English."""

from __future__ import annotations

import re
import unicodedata

from voxhub.text.chunks import nfkc_pieces, word_pieces
from voxhub.text.english import expand_english
from voxhub.text.spaces import collapse_spaces

__all__ = ["expand_english", "normalize_text"]

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2039": "'",
        "\u203a": "'",
        "\u2212": "-",  # minus sign: a hyphen, so number rules see a negative sign
        "\u2013": "\u2014",  # en dash reads like an em dash (a pause) outside number ranges
        "\u2015": "\u2014",
        "\t": " ",
        "\r": "\n",
        "\u2028": "\n",
        "\u2029": "\n",
    }
)
# Math symbols that have a spoken form (`expand_english` reads them); other Sm (arrows, ...) go.
_KEPT_MATH = set("+=<>±\u00d7÷~|")
# Symbols (category So) that stand for words rather than pictures.
_KEPT_SYMBOLS = set("°©®")
_EN_DASH_RANGE = re.compile(r"(?<=\d)\u2014(?=\d)")
_SPACED_HYPHEN = re.compile(r"(?<=\s)-{1,2}(?=\s)|(?<=\w)--(?=\w)")
_SPEAKABLE = re.compile(r"[^\W_]")  # a letter or digit


class _Kept(dict[int, int | None]):
    """A `str.translate` table filled in as characters come: `_keep` runs once per distinct
    character of a text instead of once per character (a str.translate call stays in C)."""

    def __missing__(self, code: int) -> int | None:
        kept = code if _keep(chr(code)) else None
        self[code] = kept
        return kept


def _keep(ch: str) -> bool:
    """Whether a character can survive into speech text."""
    if ch == "\n":
        return True
    cat = unicodedata.category(ch)
    if cat[0] == "C":  # control, format (zero-width joiners, BOM), private use, unassigned
        return False
    if cat == "So":  # emoji, pictographs, dingbats, box drawing
        return ch in _KEPT_SYMBOLS
    if cat == "Sm":
        return ch in _KEPT_MATH
    if cat == "Sk":  # emoji skin-tone modifiers, lone accents
        return False
    # Variation selectors and enclosing keycaps only decorate emoji.
    return cat != "Me" and not ("\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef")


def _tidy(text: str) -> str:
    text = _EN_DASH_RANGE.sub("-", text)
    text = _SPACED_HYPHEN.sub("\u2014", text)
    return collapse_spaces(text)


def normalize_text(text: str) -> str:
    """Clean any-language text for speech; "" when nothing speakable is left."""
    if not text:
        return ""
    # A fresh table per call: its size is bounded by this text, not by everything ever seen.
    kept = _Kept()
    text = "".join(
        unicodedata.normalize("NFKC", piece).translate(_QUOTES).translate(kept)
        for piece in nfkc_pieces(text)
    )
    text = " ".join(_tidy(piece) for piece in word_pieces(text))
    return text if _SPEAKABLE.search(text) else ""
