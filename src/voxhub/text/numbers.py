"""English number words: cardinals, ordinals, years, decimals and digit strings."""

from __future__ import annotations

_ONES_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_ONES = tuple(_ONES_WORDS.split())
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion")
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
# Past this a number is read digit by digit: nobody says "four quintillion ..." aloud.
MAX_CARDINAL_DIGITS = 3 * len(_SCALES)
_MAX_CARDINAL = 10**MAX_CARDINAL_DIGITS - 1


def _below_thousand(n: int) -> str:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    elif rest or not words:
        words.append(_ONES[rest])
    return " ".join(words)


def cardinal(n: int) -> str:
    """`1234` -> "one thousand two hundred thirty-four"; negatives get "minus"."""
    if n < 0:
        return f"minus {cardinal(-n)}"
    if n > _MAX_CARDINAL:
        return digits(str(n))
    if n < 1000:
        return _below_thousand(n)
    groups: list[str] = []
    scale = 0
    while n:
        n, group = divmod(n, 1000)
        if group:
            name = _SCALES[scale]
            groups.append(_below_thousand(group) + (f" {name}" if name else ""))
        scale += 1
    return " ".join(reversed(groups))


def integer(text: str) -> str:
    """A string of digits as words, read digit by digit when it is too long to say as a number.

    The length is checked before `int()` sees the string: CPython refuses to parse more than
    4,300 digits (a ValueError, so a 500) and parses fewer in time quadratic in their number.
    """
    significant = text.lstrip("0")
    if len(significant) > MAX_CARDINAL_DIGITS:
        return digits(text)
    return cardinal(int(significant or "0"))


def ordinal(n: int) -> str:
    """`21` -> "twenty-first"."""
    return _ordinal_words(cardinal(n))


def ordinal_digits(text: str) -> str:
    """`"21"` -> "twenty-first"; a digit string of any length (see `integer`)."""
    return _ordinal_words(integer(text))


def _ordinal_words(words: str) -> str:
    head, sep, last = words.rpartition(" ")
    prefix, dash, unit = last.rpartition("-")
    if unit in _ORDINAL_IRREGULAR:
        unit = _ORDINAL_IRREGULAR[unit]
    elif unit.endswith("y"):
        unit = unit[:-1] + "ieth"
    else:
        unit += "th"
    return f"{head}{sep}{prefix}{dash}{unit}"


def year(n: int) -> str:
    """A year as spoken: 1999 -> "nineteen ninety-nine", 2005 -> "two thousand five"."""
    if not 1000 <= n <= 9999:
        return cardinal(n)
    high, low = divmod(n, 100)
    if 2000 <= n < 2010 or n % 1000 == 0:
        return cardinal(n)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {_ONES[low]}"
    return f"{cardinal(high)} {cardinal(low)}"


def digits(text: str) -> str:
    """Read a digit string one digit at a time: "0042" -> "zero zero four two"."""
    return " ".join(_ONES[int(c)] for c in text if c.isdecimal())


def decimal(text: str) -> str:
    """`"3.14"` -> "three point one four"; `"-0.5"` -> "minus zero point five"."""
    sign = ""
    if text.startswith("-"):
        sign, text = "minus ", text[1:]
    whole, _, frac = text.replace(",", "").partition(".")
    spoken = integer(whole) if whole else "zero"
    if frac:
        spoken += f" point {digits(frac)}"
    return sign + spoken
