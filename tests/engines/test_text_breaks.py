"""`<break>` tags: read into pauses, refused clearly when unreadable or too long."""

from __future__ import annotations

import time

import pytest

from voxhub.text.breaks import MAX_BREAKS, InvalidBreak, join_breaks, split_breaks


def test_text_without_breaks_is_one_piece() -> None:
    assert split_breaks("Hello there.") == [("Hello there.", 0.0)]


@pytest.mark.parametrize(
    ("tag", "seconds"),
    [
        ('<break time="500ms"/>', 0.5),
        ('<break time="1.5s" />', 1.5),
        ("<break time='2s'>", 2.0),
        ('<BREAK TIME="250MS"/>', 0.25),
        ('<break strength="strong"/>', 0.8),
        ("<break/>", 0.5),
    ],
)
def test_each_spelling_of_a_pause(tag: str, seconds: float) -> None:
    assert split_breaks(f"One.{tag}Two.") == [("One.", seconds), ("Two.", 0.0)]


def test_adjacent_tags_add_up_and_a_leading_pause_is_kept() -> None:
    text = '<break time="1s"/> Start. <break time="1s"/> <break time="0.5s"/> End.'
    assert split_breaks(text) == [("", 1.0), (" Start. ", 1.5), (" End.", 0.0)]


def test_the_canonical_spelling_reads_back_the_same() -> None:
    pieces = [("", 0.3), ("Start.", 1.25), ("End.", 0.0)]
    canonical = join_breaks(pieces)
    assert canonical == '<break time="300ms"/> Start. <break time="1250ms"/> End.'
    assert [(t.strip(), p) for t, p in split_breaks(canonical)] == pieces


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('a <break time="6s"/> b', "up to 5 s"),
        ('a <break time="3s"/><break time="3s"/> b', "6 s here"),
        ('a <break time="soon"/> b', "milliseconds or seconds"),
        ('a <break time="-1s"/> b', "milliseconds or seconds"),
        ('a <break duration="1s"/> b', "`time` or `strength`"),
        ('a <break strength="huge"/> b', "strength is one of"),
        ("a <break time=1s/> b", "cannot read"),
    ],
)
def test_unreadable_or_long_breaks_are_refused(text: str, says: str) -> None:
    with pytest.raises(InvalidBreak, match=says) as caught:
        split_breaks(text)
    assert caught.value.code == "invalid_break"


def test_too_many_breaks_are_refused() -> None:
    text = ' w <break time="1ms"/>' * (MAX_BREAKS + 1)
    with pytest.raises(InvalidBreak, match=f"more than {MAX_BREAKS}"):
        split_breaks(text)


def test_a_stray_angle_bracket_is_text() -> None:
    assert split_breaks("3 < 4 and <breakfast> at 5 > 2") == [
        ("3 < 4 and <breakfast> at 5 > 2", 0.0)
    ]


def test_hostile_text_is_read_in_linear_time() -> None:
    started = time.perf_counter()
    split_breaks("<break" * 30_000 + "x" * 10_000)
    split_breaks("<break " + "a" * 100_000)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    "text",
    [
        'x <\u00adbreak time="9s"> y',  # a soft hyphen that cleaning removes
        'hi <break time="4s"/>\u200b<break time="4s"/> there',  # two 4 s pauses made adjacent
        "x \uff1cbreak time='1s'/\uff1e y",  # full-width brackets that NFKC makes plain
    ],
)
def test_a_tag_that_cleaning_would_reveal_is_refused(text: str) -> None:
    from voxhub.synthesis.text_checks import check_text

    with pytest.raises(InvalidBreak):
        check_text(text, "en", 5000, 100_000, False)
