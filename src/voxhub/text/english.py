"""English text expansion: numbers, dates, money, abbreviations and symbols into words."""

from __future__ import annotations

import re
from collections.abc import Callable

from voxhub.text.chunks import word_pieces
from voxhub.text.numbers import integer, ordinal_digits
from voxhub.text.readings import (
    MONTHS,
    NUM,
    UNITS,
    abbreviation,
    acronym,
    day_month,
    decade,
    degrees,
    doctor_or_drive,
    fraction,
    hour_meridiem,
    iso_date,
    money,
    month_day,
    number,
    numeric_date,
    saint_or_street,
    signed,
    signed_number,
    time_of_day,
    unit,
)
from voxhub.text.spaces import collapse_spaces

_TITLES = {
    "mr": "Mister",
    "mrs": "Missus",
    "ms": "Miz",
    "prof": "Professor",
    "mt": "Mount",
    "capt": "Captain",
    "gen": "General",
    "sgt": "Sergeant",
    "lt": "Lieutenant",
    "col": "Colonel",
    "rev": "Reverend",
    "hon": "Honorable",
}
# These may end a sentence: their period is kept when the sentence ends there.
_TRAILING = {
    "etc": "et cetera",
    "jr": "Junior",
    "sr": "Senior",
    "inc": "Incorporated",
    "ltd": "Limited",
    "ave": "Avenue",
    "approx": "approximately",
    "dept": "department",
    "vs": "versus",
}
# A template string is expanded by `re` in C; a function per match costs a Python call.
Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str]


def _sub(pattern: str, repl: Callable[[re.Match[str]], str] | str, flags: int = 0) -> Rule:
    return re.compile(pattern, flags), repl


_MONTH_NAMES = "|".join(MONTHS)
_MONTH_SHORT = r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
# Linear time: an unbounded quantifier below either starts only where its run starts (a
# lookbehind rules out the middle of a run, so a failed attempt is not retried from each later
# character), or is anchored by a literal that occurs once per attempt ("no.", a month, a
# currency sign), or is followed by something that cannot fail. Runs of white space are one
# character long when the rules start (see `expand_english`).
# Not at a ",ddd," group inside "1,000,000,...": each would rescan the rest of the chain.
_SIGNED = r"(?<![\w.-])(?!(?<=\d,)\d{3},)(-?(?:" + NUM + r"))"
_RULES: tuple[Rule, ...] = (
    # Dotted abbreviations first, before their periods look like sentence ends or decimals.
    _sub(r"\be\.\s?g\.(?=\W|$)", "for example", re.I),
    _sub(r"\bi\.\s?e\.(?=\W|$)", "that is", re.I),
    _sub(r"\b(\d{1,2}):([0-5]\d)(?::([0-5]\d))?(?:\s*([ap])\.?m\.?(?!\w))?", time_of_day, re.I),
    _sub(r"\b(\d{1,2})\s*([ap])\.?m\.?(?!\w)", hour_meridiem, re.I),
    _sub(r"\b(" + "|".join(_TITLES) + r")\.(?=\s)", abbreviation(_TITLES, False), re.I),
    _sub(r"\b(" + "|".join(_TRAILING) + r")\.", abbreviation(_TRAILING, True), re.I),
    _sub(r"\bvs\b", "versus", re.I),
    _sub(r"\bSt\.", saint_or_street),
    _sub(r"\bDr\.", doctor_or_drive),
    _sub(r"\bno\.\s*(?=\d)", "number ", re.I),
    _sub(r"#\s?(?=\d)", "number "),
    _sub(r"(?<![\w.])[A-Za-z](?:\.[A-Za-z])+\.?(?!\w)", acronym),
    _sub(r"(?<![\w-])(-*\w[\w-]*)\.(com|org|net|io|dev|edu|gov|co|uk|ai|app)\b", r"\1 dot \2"),
    # Dates and money before plain numbers, which would otherwise eat their digits.
    _sub(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", iso_date),
    _sub(r"\b(\d{1,2})(/)(\d{1,2})/(\d{4}|\d{2})\b", numeric_date),
    _sub(r"\b(\d{1,2})(\.)(\d{1,2})\.(\d{4})\b", numeric_date),
    _sub(
        rf"\b({_MONTH_NAMES}|(?:{_MONTH_SHORT})\.?)\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?![:\d])",
        month_day,
    ),
    _sub(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_NAMES})\b", day_month),
    _sub(r"(?<![\w./])(\d{1,2})/([2-9]|10)(?![\w/])", fraction),
    _sub(r"(?<![\d.-])(\d{1,4}(?:\.\d+)?)\s?-\s?(?=\d{1,4}(?:\.\d+)?(?![\d-]))", r"\1 to "),
    _sub(
        r"(?<![\w.])(-)?([$£€¥])\s?(" + NUM + r")"
        r"(?:\s?(thousand|million|billion|trillion|bn|mm|[kmb])\b)?",
        money,
        re.I,
    ),
    _sub(
        r"\b(\d+)\s?¢",
        lambda m: f"{integer(m.group(1))} cent{'' if m.group(1) == '1' else 's'}",
    ),
    _sub(_SIGNED + r"\s?°(?:\s?([CF])\b)?", degrees),
    _sub(_SIGNED + r"\s?%", lambda m: f"{signed(m.group(1))} percent"),
    _sub(_SIGNED + r"\s?(" + "|".join(map(re.escape, UNITS)) + r")(?![\w/])", unit),
    _sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: ordinal_digits(m.group(1)), re.I),
    _sub(r"(?<![\w.])'?(1[1-9]|20)?(\d0)'?s\b", decade),
    # "MP3", "4K", "COVID19": a space lets the number rule see the digits on their own.
    _sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " "),
    _sub(r"(?<![\w.])(-)?(" + NUM + r")", signed_number),
    _sub(r"\d+", lambda m: number(m.group(0))),
    # Symbols last: by now every one left stands alone between words. One space either side at
    # most: `\s*` before a symbol would be retried at each character of a run of spaces.
    _sub(r"\s?&\s?", " and "),
    _sub(r"\s?\+\s?", " plus "),
    _sub(r"\s?=\s?", " equals "),
    _sub(r"\s?±\s?", " plus or minus "),
    _sub(r"\s?\u00d7\s?", " times "),
    _sub(r"\s?÷\s?", " divided by "),
    _sub(r"\s<\s", " less than "),
    _sub(r"\s>\s", " greater than "),
    _sub(r"~\s?(?=\w)", "about "),
    _sub(r"\s?%", " percent"),
    _sub(r"\s?@\s?", " at "),
    _sub(r"#(?=[A-Za-z])", "hashtag "),
    _sub(r"\s?°", " degrees"),
    _sub(r"(?<=\w)/(?=\w)", " slash "),
    _sub(r"[#<>~|*_\\^{}\[\]]", " "),
    _sub(r"[ ]{2,}", " "),
)


def expand_english(text: str) -> str:
    """Spell out numbers, money, dates, times, abbreviations and symbols in English text."""
    return " ".join(_expand(piece) for piece in word_pieces(collapse_spaces(text)))


def _expand(text: str) -> str:
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text.strip()
