"""Hostile text plans in time linear in its length: no shape makes a text step blow up.

Each case is 100,000 characters, as much as a job may say. Before the planning was made
linear, a few thousand of some of these shapes took seconds and these took many minutes; the
bound below is only a generous guard against such blow-ups (CPU time of this thread, so a busy
machine does not make it fail), not a performance figure (those are in `make bench`).
"""

# Quotes and dashes that look like ASCII ones are the point of some cases.
# ruff: noqa: RUF001

from __future__ import annotations

import string
import time
from collections.abc import Callable

import pytest

from voxhub.engines.embedded.pieces import plan
from voxhub.text import expand_english, normalize_text, split_sentences

N = 100_000
GUARD_S = 30.0
MARKS = string.punctuation + "…—–“”‘’«»¡¿·"


CLASSES: dict[str, dict[str, str]] = {
    "runs of each punctuation mark": {mark: mark * N + "X" for mark in MARKS},
    "each punctuation mark between letters": {mark: ("a" + mark) * (N // 2) for mark in MARKS},
    "digits": {
        "digits": "7" * N,
        "an ordinal": "7" * N + "th",
        "thousands groups, then a percent sign": "1" + ",000" * (N // 4) + "x%",
    },
    # No word before the period, then a long run of closing quotes and brackets.
    "nested quotes and brackets": {
        "opened and closed": "\"('[" * (N // 16) + "Hi ." + "]')\"" * (N // 4) + " Then",
        "every kind": "«“‘\"'([{" * (N // 16) + "Hi" + "}])'\"’”»" * (N // 16),
    },
    "white space": {
        "an ogham space": "a" + "\u1680" * N + "b",
        "spaces and tabs": "a" + " \t" * (N // 2) + "b",
    },
}
STEPS: dict[str, Callable[[str], object]] = {
    "plan": lambda text: plan(text, "en"),
    "split_sentences": split_sentences,
    "expand_english": expand_english,
}


@pytest.mark.parametrize("kind", CLASSES)
def test_hostile_text_plans_in_linear_time(kind: str) -> None:
    for shape, text in CLASSES[kind].items():
        for name, step in STEPS.items():
            started = time.thread_time()
            step(text)
            spent = time.thread_time() - started
            assert spent < GUARD_S, f"{name} took {spent:.1f} s on {kind}: {shape!r}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9" * 5000, "nine " * 4999 + "nine"),
        ("-" + "9" * 5000, "minus " + "nine " * 4999 + "nine"),
        ("9" * 5000 + ".5", "nine " * 5000 + "point five"),
        ("9" * 5000 + "%", "nine " * 5000 + "percent"),
        ("9" * 5000 + "th", "nine " * 4999 + "ninth"),
        ("9" * 5000 + "¢", "nine " * 5000 + "cents"),
        ("9" * 5000 + " kg", "nine " * 5000 + "kilograms"),
        ("$" + "9" * 5000, "nine " * 5000 + "dollars"),
    ],
)
def test_a_number_too_long_to_say_is_read_digit_by_digit(text: str, expected: str) -> None:
    # int() refuses strings of more than 4,300 digits: these were 500s.
    assert expand_english(text) == expected


def test_a_space_that_is_not_ascii_counts_as_a_space() -> None:
    assert normalize_text("a\u1680\u1680b") == "a b"
