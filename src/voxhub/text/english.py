"""English text expansion: numbers, dates, money, abbreviations and symbols into words."""

from __future__ import annotations

import re
from collections.abc import Callable

from voxhub.text.numbers import cardinal, decimal, digits, ordinal, year

_MONTH_WORDS = (
    "January February March April May June July August September October November December"
)
_MONTHS = tuple(_MONTH_WORDS.split())
_MONTH_ABBR = {m[:3].lower(): m for m in _MONTHS} | {"sept": "September"}
_CURRENCY = {  # symbol -> (unit, units, subunit, subunits)
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "", ""),
}
_SCALE_WORDS = {"k": "thousand", "m": "million", "mm": "million", "b": "billion", "bn": "billion"}
_UNITS = {  # only units that cannot be mistaken for a word after a number
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "km": ("kilometer", "kilometers"),
    "kg": ("kilogram", "kilograms"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "mg": ("milligram", "milligrams"),
    "ml": ("milliliter", "milliliters"),
    "lbs": ("pound", "pounds"),
    "lb": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "ft": ("foot", "feet"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "kW": ("kilowatt", "kilowatts"),
    "GHz": ("gigahertz", "gigahertz"),
    "MHz": ("megahertz", "megahertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "Hz": ("hertz", "hertz"),
}
# Titles always precede a name, so their period never ends a sentence.
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
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_SENTENCE_END = re.compile(r"\s*(?:$|\n|[\"')\]]?\s+[A-Z])")

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _number(text: str) -> str:
    """Any plain number as words: commas, decimals, leading zeros, years."""
    text = text.replace(",", "")
    if "." in text:
        return decimal(text)
    if len(text) > 1 and text.startswith("0"):
        return digits(text)
    value = int(text)
    if 1100 <= value <= 2099:
        return year(value)
    return cardinal(value)


def _quantity(text: str) -> tuple[str, bool]:
    """Words for a number and whether it is exactly one (for singular units)."""
    plain = text.replace(",", "")
    one = plain in ("1", "1.0", "1.00")
    return (decimal(plain) if "." in plain else cardinal(int(plain))), one


def _keep_period(m: re.Match[str]) -> str:
    """A '.' when the abbreviation just expanded also ended its sentence."""
    return "." if _SENTENCE_END.match(m.string, m.end()) else ""


def _money(m: re.Match[str]) -> str:
    sign, symbol, amount, scale = m.group(1), m.group(2), m.group(3), m.group(4)
    unit, units, sub, subs = _CURRENCY[symbol]
    prefix = "minus " if sign else ""
    plain = amount.replace(",", "")
    if scale:
        word = _SCALE_WORDS.get(scale.lower(), scale.lower())
        return f"{prefix}{_quantity(plain)[0]} {word} {units}"
    whole, _, frac = plain.partition(".")
    if len(frac) > 2 or (frac and not sub):
        return f"{prefix}{decimal(plain)} {units}"
    dollars = int(whole or "0")
    cents = int((frac + "0")[:2]) if frac else 0
    parts = []
    if dollars or not cents:
        parts.append(f"{cardinal(dollars)} {unit if dollars == 1 else units}")
    if cents:
        parts.append(f"{cardinal(cents)} {sub if cents == 1 else subs}")
    return prefix + " and ".join(parts)


def _time(m: re.Match[str]) -> str:
    hour, minute, second, meridiem = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
    words = cardinal(hour)
    if minute == 0 and not meridiem:
        words += " o'clock" if hour <= 12 else " hundred"
    elif minute:
        words += f" oh {cardinal(minute)}" if minute < 10 else f" {cardinal(minute)}"
    if second and int(second):
        words += f" and {cardinal(int(second))} seconds"
    if meridiem:
        words += f" {meridiem[0].upper()}M" + _dotted_end(m)
    return words


def _hour_meridiem(m: re.Match[str]) -> str:
    return f"{cardinal(int(m.group(1)))} {m.group(2).upper()}M" + _dotted_end(m)


def _dotted_end(m: re.Match[str]) -> str:
    """The sentence's period when "p.m." swallowed it."""
    return _keep_period(m) if m.group(0).endswith(".") else ""


def _plural(words: str) -> str:
    """ "nineteen ninety" -> "nineteen nineties", for decades."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    return words + ("es" if words.endswith("x") else "s")


def _fraction(m: re.Match[str]) -> str:
    top, bottom = int(m.group(1)), int(m.group(2))
    if top >= bottom:  # "24/7", "10/3": not a fraction anyone reads as one
        return f"{cardinal(top)} {cardinal(bottom)}"
    names = {2: ("half", "halves"), 4: ("quarter", "quarters")}
    one, many = names.get(bottom, (ordinal(bottom), ordinal(bottom) + "s"))
    return f"{cardinal(top)} {one if top == 1 else many}"


def _decade(m: re.Match[str]) -> str:
    century, decade = m.group(1), m.group(2)
    if century is None:
        return _plural(cardinal(int(decade)))
    return _plural(year(int(century + decade)))


def _date(y: int, month: int, day: int, day_first: bool, two_digit_year: bool) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    spoken_year = cardinal(y) if two_digit_year and y >= 10 else year(y)
    if two_digit_year and y < 10:
        spoken_year = f"oh {cardinal(y)}"
    name = _MONTHS[month - 1]
    if day_first:
        return f"the {ordinal(day)} of {name}, {spoken_year}"
    return f"{name} {ordinal(day)}, {spoken_year}"


def _iso_date(m: re.Match[str]) -> str:
    spoken = _date(int(m.group(1)), int(m.group(2)), int(m.group(3)), False, False)
    return spoken or m.group(0)


def _numeric_date(m: re.Match[str]) -> str:
    a, sep, b, y = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
    # 15/01 can only be day-first and 01/15 only month-first; when both fit, "/" is read the
    # American way (month first) and "." the European way, which is how each is usually meant.
    day_first = a > 12 or (b <= 12 and sep == ".")
    day, month = (a, b) if day_first else (b, a)
    spoken = _date(int(y), month, day, day_first, len(y) == 2)
    return spoken or m.group(0)


def _month_day(m: re.Match[str]) -> str:
    month = _MONTH_ABBR[m.group(1).lower()[:3]]
    return f"{month} {ordinal(int(m.group(2)))}"


def _day_month(m: re.Match[str]) -> str:
    month = _MONTH_ABBR[m.group(2).lower()[:3]]
    return f"the {ordinal(int(m.group(1)))} of {month}"


def _unit(m: re.Match[str]) -> str:
    words, one = _quantity(m.group(1).lstrip("-"))
    sign = "minus " if m.group(1).startswith("-") else ""
    singular, plural = _UNITS[m.group(2)]
    return f"{sign}{words} {singular if one else plural}"


def _degrees(m: re.Match[str]) -> str:
    words, one = _quantity(m.group(1).lstrip("-"))
    sign = "minus " if m.group(1).startswith("-") else ""
    scale = {"C": " Celsius", "F": " Fahrenheit"}.get(m.group(2) or "", "")
    return f"{sign}{words} {'degree' if one else 'degrees'}{scale}"


def _abbreviation(table: dict[str, str], keep_period: bool) -> Callable[[re.Match[str]], str]:
    def expand(m: re.Match[str]) -> str:
        word = table[m.group(1).lower()]
        return word + (_keep_period(m) if keep_period else "")

    return expand


def _after_name(m: re.Match[str]) -> bool:
    """Whether the abbreviation follows a capitalised word ("Main St.", "Elm Dr.")."""
    return bool(re.search(r"\b[A-Z][a-z]+\s*$", m.string[: m.start()]))


def _before_name(m: re.Match[str]) -> bool:
    return bool(re.match(r"\s+[A-Z]", m.string[m.end() :]))


def _saint_or_street(m: re.Match[str]) -> str:
    if _before_name(m) and not _after_name(m):
        return "Saint"
    return "Street" + _keep_period(m)


def _doctor_or_drive(m: re.Match[str]) -> str:
    if _after_name(m) and not _before_name(m):
        return "Drive" + _keep_period(m)
    return "Doctor"


def _acronym(m: re.Match[str]) -> str:
    letters = m.group(0).replace(".", "").upper()
    return letters + (_keep_period(m) if m.group(0).endswith(".") else "")


def _signed_number(m: re.Match[str]) -> str:
    return ("minus " if m.group(1) else "") + _number(m.group(2))


def _sub(pattern: str, repl: Callable[[re.Match[str]], str] | str, flags: int = 0) -> Rule:
    compiled = re.compile(pattern, flags)
    if isinstance(repl, str):
        template = repl
        return compiled, lambda m: m.expand(template)
    return compiled, repl


_MONTH_NAMES = "|".join(_MONTHS)
_MONTH_SHORT = r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
_SIGNED = r"(?<![\w.-])(-?(?:" + _NUM + r"))"
_RULES: tuple[Rule, ...] = (
    # Dotted abbreviations first, before their periods look like sentence ends or decimals.
    _sub(r"\be\.\s?g\.(?=\W|$)", "for example", re.I),
    _sub(r"\bi\.\s?e\.(?=\W|$)", "that is", re.I),
    _sub(r"\b(\d{1,2}):([0-5]\d)(?::([0-5]\d))?(?:\s*([ap])\.?m\.?(?!\w))?", _time, re.I),
    _sub(r"\b(\d{1,2})\s*([ap])\.?m\.?(?!\w)", _hour_meridiem, re.I),
    _sub(r"\b(" + "|".join(_TITLES) + r")\.(?=\s)", _abbreviation(_TITLES, False), re.I),
    _sub(r"\b(" + "|".join(_TRAILING) + r")\.", _abbreviation(_TRAILING, True), re.I),
    _sub(r"\bvs\b", "versus", re.I),
    _sub(r"\bSt\.", _saint_or_street),
    _sub(r"\bDr\.", _doctor_or_drive),
    _sub(r"\bno\.\s*(?=\d)", "number ", re.I),
    _sub(r"#\s?(?=\d)", "number "),
    _sub(r"(?<![\w.])[A-Za-z](?:\.[A-Za-z])+\.?(?!\w)", _acronym),
    _sub(r"\b([\w-]+)\.(com|org|net|io|dev|edu|gov|co|uk|ai|app)\b", r"\1 dot \2"),
    # Dates and money before plain numbers, which would otherwise eat their digits.
    _sub(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", _iso_date),
    _sub(r"\b(\d{1,2})(/)(\d{1,2})/(\d{4}|\d{2})\b", _numeric_date),
    _sub(r"\b(\d{1,2})(\.)(\d{1,2})\.(\d{4})\b", _numeric_date),
    _sub(
        rf"\b({_MONTH_NAMES}|(?:{_MONTH_SHORT})\.?)\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?![:\d])",
        _month_day,
    ),
    _sub(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_NAMES})\b", _day_month),
    _sub(r"(?<![\w./])(\d{1,2})/([2-9]|10)(?![\w/])", _fraction),
    _sub(r"(?<![\d.-])(\d{1,4}(?:\.\d+)?)\s?-\s?(?=\d{1,4}(?:\.\d+)?(?![\d-]))", r"\1 to "),
    _sub(
        r"(?<![\w.])(-)?([$£€¥])\s?(" + _NUM + r")"
        r"(?:\s?(thousand|million|billion|trillion|bn|mm|[kmb])\b)?",
        _money,
        re.I,
    ),
    _sub(
        r"\b(\d+)\s?¢",
        lambda m: f"{cardinal(int(m.group(1)))} cent{'' if m.group(1) == '1' else 's'}",
    ),
    _sub(_SIGNED + r"\s?°(?:\s?([CF])\b)?", _degrees),
    _sub(_SIGNED + r"\s?%", lambda m: f"{_signed(m.group(1))} percent"),
    _sub(_SIGNED + r"\s?(" + "|".join(map(re.escape, _UNITS)) + r")(?![\w/])", _unit),
    _sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: ordinal(int(m.group(1))), re.I),
    _sub(r"(?<![\w.])'?(1[1-9]|20)?(\d0)'?s\b", _decade),
    # "MP3", "4K", "COVID19": a space lets the number rule see the digits on their own.
    _sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " "),
    _sub(r"(?<![\w.])(-)?(" + _NUM + r")", _signed_number),
    _sub(r"\d+", lambda m: _number(m.group(0))),
    # Symbols last: by now every one left stands alone between words.
    _sub(r"\s*&\s*", " and "),
    _sub(r"\s*\+\s*", " plus "),
    _sub(r"\s*=\s*", " equals "),
    _sub(r"\s*±\s*", " plus or minus "),
    _sub(r"\s*\u00d7\s*", " times "),
    _sub(r"\s*÷\s*", " divided by "),
    _sub(r"\s+<\s+", " less than "),
    _sub(r"\s+>\s+", " greater than "),
    _sub(r"~\s?(?=\w)", "about "),
    _sub(r"\s*%", " percent"),
    _sub(r"\s*@\s*", " at "),
    _sub(r"#(?=[A-Za-z])", "hashtag "),
    _sub(r"\s*°", " degrees"),
    _sub(r"(?<=\w)/(?=\w)", " slash "),
    _sub(r"[#<>~|*_\\^{}\[\]]", " "),
    _sub(r"[ ]{2,}", " "),
)


def _signed(text: str) -> str:
    return ("minus " if text.startswith("-") else "") + _number(text.lstrip("-"))


def expand_english(text: str) -> str:
    """Spell out numbers, money, dates, times, abbreviations and symbols in English text."""
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text.strip()
