"""normalize_text and expand_english: what the engine is asked to say becomes speakable words."""

from __future__ import annotations

import pytest

from voxhub.text import expand_english, normalize_text
from voxhub.text.numbers import cardinal, ordinal, year


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Hello\t  world  ", "Hello world"),
        ("\u201cSmart\u201d \u2018quotes\u2019", "\"Smart\" 'quotes'"),
        ("\ufb01ne \uff21\uff22\uff23", "fine ABC"),  # NFKC: ligatures and full-width letters
        ("a\x00b\x07c\u200bd", "abcd"),  # control and zero-width characters
        ("I ❤️ pizza 🍕!", "I pizza !"),
        ("thumbs 👍🏽 up", "thumbs up"),
        ("line one\n\n\n  line two", "line one\nline two"),
        ("wait - what", "wait \u2014 what"),
        ("pages 10\u201320", "pages 10-20"),
        ("20°C ± 2", "20°C ± 2"),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "😀🎉👍", "\u200b\u200d", "→ ★ ♥", "...", "_"])
def test_normalize_text_returns_empty_when_nothing_is_speakable(raw: str) -> None:
    assert normalize_text(raw) == ""


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (40, "forty"),
        (99, "ninety-nine"),
        (100, "one hundred"),
        (101, "one hundred one"),
        (1_000, "one thousand"),
        (1_234_567, "one million two hundred thirty-four thousand five hundred sixty-seven"),
        (-12, "minus twelve"),
    ],
)
def test_cardinal(n: int, words: str) -> None:
    assert cardinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "first"), (2, "second"), (3, "third"), (12, "twelfth"), (20, "twentieth"),
     (21, "twenty-first"), (103, "one hundred third")],
)  # fmt: skip
def test_ordinal(n: int, words: str) -> None:
    assert ordinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [(1999, "nineteen ninety-nine"), (2024, "twenty twenty-four"), (2000, "two thousand"),
     (2005, "two thousand five"), (1905, "nineteen oh five"), (1900, "nineteen hundred")],
)  # fmt: skip
def test_year(n: int, words: str) -> None:
    assert year(n) == words


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("I have 3 cats.", "I have three cats."),
        ("1,234,567", "one million two hundred thirty-four thousand five hundred sixty-seven"),
        ("Pi is 3.14", "Pi is three point one four"),
        ("It fell to -5 today", "It fell to minus five today"),
        ("1st, 2nd and 21st.", "first, second and twenty-first."),
        ("In 1999 and in 2024.", "In nineteen ninety-nine and in twenty twenty-four."),
        ("Up 50% today", "Up fifty percent today"),
        ("It costs $3.50", "It costs three dollars and fifty cents"),
        ("Only $1 or 99¢", "Only one dollar or ninety-nine cents"),
        ("£20 and €5", "twenty pounds and five euros"),
        ("A $1.5 million deal", "A one point five million dollars deal"),
        ("Meet at 10:30.", "Meet at ten thirty."),
        ("Meet at 10:05 pm.", "Meet at ten oh five PM."),
        ("At 9 a.m. sharp", "At nine AM sharp"),
        ("Due 2024-01-15.", "Due January fifteenth, twenty twenty-four."),
        ("Due 15/01/2024.", "Due the fifteenth of January, twenty twenty-four."),
        ("Due 01/15/2024.", "Due January fifteenth, twenty twenty-four."),
        ("On January 5, 2024", "On January fifth, twenty twenty-four"),
        ("Mr. Smith and Mrs. Jones met Dr. Who.", "Mister Smith and Missus Jones met Doctor Who."),
        ("He lives on Main St. near St. Paul.", "He lives on Main Street near Saint Paul."),
        ("Eat e.g. apples, i.e. food, etc.", "Eat for example apples, that is food, et cetera."),
        ("Cats vs. dogs", "Cats versus dogs"),
        ("No. 5 is #1", "number five is number one"),
        ("Tom & Jerry", "Tom and Jerry"),
        ("2+2=4", "two plus two equals four"),
        ("mail me@example.com", "mail me at example dot com"),
        ("5 km, 1 cm, 60 km/h", "five kilometers, one centimeter, sixty kilometers per hour"),
        ("3 kg", "three kilograms"),
        ("It is 20°C", "It is twenty degrees Celsius"),
        ("The 1990s", "The nineteen nineties"),
        ("Add 1/2 cup", "Add one half cup"),
        ("pages 10-20", "pages ten to twenty"),
        ("The U.S.A. is big.", "The USA is big."),
        ("NASA and the FBI", "NASA and the FBI"),  # acronyms are left for espeak to read or spell
        ("Agent 007", "Agent zero zero seven"),
    ],
)  # fmt: skip
def test_expand_english(raw: str, expected: str) -> None:
    assert expand_english(raw) == expected


def test_expand_english_keeps_the_sentence_end_after_an_abbreviation() -> None:
    assert expand_english("We met at 5 p.m. Then we left.") == "We met at five PM. Then we left."
    assert expand_english("I live in the U.S.A. It is big.") == "I live in the USA. It is big."


def test_expand_english_leaves_no_digits() -> None:
    text = "Call 555-0199, room 4B, v2.5.1 on 3/4/2025 at 7:45, ref 12345678901234567890."
    out = expand_english(normalize_text(text))
    assert not any(ch.isdigit() for ch in out), out


def test_day_month_after_an_article_is_not_doubled() -> None:
    assert expand_english("The 12th of May") == "The twelfth of May"
    assert expand_english("On the 1st of June") == "On the first of June"
    assert expand_english("12th May") == "the twelfth of May"
