"""How English numbers, money, dates and abbreviations are read: one function per kind."""

from __future__ import annotations

import re
from collections.abc import Callable

from voxhub.text.numbers import (
    MAX_CARDINAL_DIGITS,
    cardinal,
    decimal,
    digits,
    integer,
    ordinal,
    year,
)

_MONTH_WORDS = (
    "January February March April May June July August September October November December"
)
MONTHS = tuple(_MONTH_WORDS.split())
_MONTH_ABBR = {m[:3].lower(): m for m in MONTHS} | {"sept": "September"}
_CURRENCY = {  # symbol -> (unit, units, subunit, subunits)
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "", ""),
}
_SCALE_WORDS = {"k": "thousand", "m": "million", "mm": "million", "b": "billion", "bn": "billion"}
UNITS = {  # only units that cannot be mistaken for a word after a number
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
NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_CLOSERS = frozenset("\"')]")
# The neighbours of "St." and "Dr.": the word before is looked for in a bounded window, so many
# abbreviations in one long text cost each a constant, not a scan of everything before them.
_NAME_BEFORE = re.compile(r"(?<!\w)[A-Z][a-z]+\s*\Z")
_NAME_AFTER = re.compile(r"\s+[A-Z]")
_WINDOW = 40


def number(text: str) -> str:
    """Any plain number as words: commas, decimals, leading zeros, years."""
    text = text.replace(",", "")
    if "." in text:
        return decimal(text)
    if (len(text) > 1 and text.startswith("0")) or len(text) > MAX_CARDINAL_DIGITS:
        return digits(text)
    value = int(text)
    if 1100 <= value <= 2099:
        return year(value)
    return cardinal(value)


def quantity(text: str) -> tuple[str, bool]:
    """Words for a number and whether it is exactly one (for singular units)."""
    plain = text.replace(",", "")
    one = plain in ("1", "1.0", "1.00")
    return (decimal(plain) if "." in plain else integer(plain)), one


def keep_period(m: re.Match[str]) -> str:
    """A '.' when the abbreviation just expanded also ended its sentence."""
    return "." if _ends_sentence(m.string, m.end()) else ""


def _ends_sentence(text: str, at: int) -> bool:
    """Whether only space follows `at` up to a line end, or space (around at most one closing
    quote or bracket) and then a capital letter.

    A scanner rather than a pattern: "space, maybe a quote, space" as `\\s*"?\\s+` backtracks
    quadratically in the length of the space run.
    """
    n = len(text)
    i = at
    while i < n and text[i].isspace():
        if text[i] == "\n":
            return True
        i += 1
    if i == n:
        return True
    if text[i] in _CLOSERS:
        closer = i
        i += 1
        while i < n and text[i].isspace():
            i += 1
        return closer + 1 < i < n and "A" <= text[i] <= "Z"
    return at < i and "A" <= text[i] <= "Z"


def money(m: re.Match[str]) -> str:
    """Money: `$3.50` -> "three dollars and fifty cents", `£20` -> "twenty pounds"."""
    sign, symbol, amount, scale = m.group(1), m.group(2), m.group(3), m.group(4)
    unit, units, sub, subs = _CURRENCY[symbol]
    prefix = "minus " if sign else ""
    plain = amount.replace(",", "")
    if scale:
        word = _SCALE_WORDS.get(scale.lower(), scale.lower())
        return f"{prefix}{quantity(plain)[0]} {word} {units}"
    whole, _, frac = plain.partition(".")
    if len(frac) > 2 or (frac and not sub):
        return f"{prefix}{decimal(plain)} {units}"
    dollars = whole.lstrip("0")
    cents = int((frac + "0")[:2]) if frac else 0
    parts = []
    if dollars or not cents:
        parts.append(f"{integer(dollars)} {unit if dollars == '1' else units}")
    if cents:
        parts.append(f"{cardinal(cents)} {sub if cents == 1 else subs}")
    return prefix + " and ".join(parts)


def time_of_day(m: re.Match[str]) -> str:
    """Clock times: `10:30` -> "ten thirty", `10:00` -> "ten o'clock", with AM/PM if given."""
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


def hour_meridiem(m: re.Match[str]) -> str:
    """A bare hour with am/pm: `5pm` -> "five PM"."""
    return f"{cardinal(int(m.group(1)))} {m.group(2).upper()}M" + _dotted_end(m)


def _dotted_end(m: re.Match[str]) -> str:
    """The sentence's period when "p.m." swallowed it."""
    return keep_period(m) if m.group(0).endswith(".") else ""


def _plural(words: str) -> str:
    """ "nineteen ninety" -> "nineteen nineties", for decades."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    return words + ("es" if words.endswith("x") else "s")


def fraction(m: re.Match[str]) -> str:
    """Simple fractions: `1/2` -> "one half", `3/4` -> "three quarters"."""
    top, bottom = int(m.group(1)), int(m.group(2))
    if top >= bottom:  # "24/7", "10/3": not a fraction anyone reads as one
        return f"{cardinal(top)} {cardinal(bottom)}"
    names = {2: ("half", "halves"), 4: ("quarter", "quarters")}
    one, many = names.get(bottom, (ordinal(bottom), ordinal(bottom) + "s"))
    return f"{cardinal(top)} {one if top == 1 else many}"


def decade(m: re.Match[str]) -> str:
    """Decades: `1990s` -> "nineteen nineties", `'80s` -> "eighties"."""
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
    name = MONTHS[month - 1]
    if day_first:
        return f"the {ordinal(day)} of {name}, {spoken_year}"
    return f"{name} {ordinal(day)}, {spoken_year}"


def iso_date(m: re.Match[str]) -> str:
    """`2024-01-15` -> "January fifteenth, twenty twenty-four"."""
    spoken = _date(int(m.group(1)), int(m.group(2)), int(m.group(3)), False, False)
    return spoken or m.group(0)


def numeric_date(m: re.Match[str]) -> str:
    """`15/01/2024` (day first when it must be) or `01/15/2024` as a spoken date."""
    a, sep, b, y = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
    # 15/01 can only be day-first and 01/15 only month-first; when both fit, "/" is read the
    # American way (month first) and "." the European way, which is how each is usually meant.
    day_first = a > 12 or (b <= 12 and sep == ".")
    day, month = (a, b) if day_first else (b, a)
    spoken = _date(int(y), month, day, day_first, len(y) == 2)
    return spoken or m.group(0)


def month_day(m: re.Match[str]) -> str:
    """`January 5` / `Jan. 5th` -> "January fifth"."""
    month = _MONTH_ABBR[m.group(1).lower()[:3]]
    return f"{month} {ordinal(int(m.group(2)))}"


def day_month(m: re.Match[str]) -> str:
    """`5 January` -> "the fifth of January" (no second "the" after "on the 5th of May")."""
    month = _MONTH_ABBR[m.group(2).lower()[:3]]
    before = m.string[max(0, m.start() - 4) : m.start()]
    article = "" if before.lower() == "the " else "the "
    return f"{article}{ordinal(int(m.group(1)))} of {month}"


def unit(m: re.Match[str]) -> str:
    """A number with a unit: `5 km` -> "five kilometers", `1 kg` -> "one kilogram"."""
    words, one = quantity(m.group(1).lstrip("-"))
    sign = "minus " if m.group(1).startswith("-") else ""
    singular, plural = UNITS[m.group(2)]
    return f"{sign}{words} {singular if one else plural}"


def degrees(m: re.Match[str]) -> str:
    """Temperatures and angles: `20°C` -> "twenty degrees Celsius"."""
    words, one = quantity(m.group(1).lstrip("-"))
    sign = "minus " if m.group(1).startswith("-") else ""
    scale = {"C": " Celsius", "F": " Fahrenheit"}.get(m.group(2) or "", "")
    return f"{sign}{words} {'degree' if one else 'degrees'}{scale}"


def abbreviation(table: dict[str, str], may_end: bool) -> Callable[[re.Match[str]], str]:
    """A replacer for `table`'s abbreviations; `may_end`: keep the period at a sentence end."""

    def expand(m: re.Match[str]) -> str:
        word = table[m.group(1).lower()]
        return word + (keep_period(m) if may_end else "")

    return expand


def _after_name(m: re.Match[str]) -> bool:
    """Whether the abbreviation follows a capitalised word ("Main St.", "Elm Dr.")."""
    return bool(_NAME_BEFORE.search(m.string, max(0, m.start() - _WINDOW), m.start()))


def _before_name(m: re.Match[str]) -> bool:
    return bool(_NAME_AFTER.match(m.string, m.end()))


def saint_or_street(m: re.Match[str]) -> str:
    """`St.`: "Saint" before a name, "Street" after one."""
    if _before_name(m) and not _after_name(m):
        return "Saint"
    return "Street" + keep_period(m)


def doctor_or_drive(m: re.Match[str]) -> str:
    """`Dr.`: "Doctor" before a name, "Drive" after a street name."""
    if _after_name(m) and not _before_name(m):
        return "Drive" + keep_period(m)
    return "Doctor"


def acronym(m: re.Match[str]) -> str:
    """Dotted acronyms lose their dots (`U.S.A.` -> "USA") for espeak to spell."""
    letters = m.group(0).replace(".", "").upper()
    return letters + (keep_period(m) if m.group(0).endswith(".") else "")


def signed_number(m: re.Match[str]) -> str:
    """A plain number with an optional minus sign."""
    return ("minus " if m.group(1) else "") + number(m.group(2))


def signed(text: str) -> str:
    """A number string with an optional leading '-' as words."""
    return ("minus " if text.startswith("-") else "") + number(text.lstrip("-"))
