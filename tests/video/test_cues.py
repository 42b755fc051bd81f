"""Caption cues: grouping timed words, wrapping, and the SRT and WebVTT formats."""

from __future__ import annotations

import pytest

from voxhub.video.cues import Cue, cues_from_words, to_srt, to_vtt, wrap


def timed(text: str, start: float = 0.0, step: float = 0.3) -> list[tuple[str, float, float]]:
    """Words spoken back to back, each `step` long."""
    return [
        (w, start + i * step, start + (i + 1) * step - 0.05) for i, w in enumerate(text.split())
    ]


def test_wrap_breaks_between_words_within_the_limit() -> None:
    lines = wrap("the quick brown fox jumps over the lazy dog", 15)
    assert lines == ["the quick brown", "fox jumps over", "the lazy dog"]
    assert all(len(line) <= 15 for line in lines)


def test_wrap_cuts_a_word_longer_than_a_line() -> None:
    assert wrap("a supercalifragilistic b", 8) == ["a", "supercal", "ifragili", "stic b"]
    assert wrap("   ", 10) == []


def test_a_sentence_end_closes_the_cue() -> None:
    cues = cues_from_words(timed("Hello there. How are you?"))
    assert [c.text for c in cues] == ["Hello there.", "How are you?"]
    assert cues[0].start == 0.0
    assert cues[0].end == pytest.approx(0.55)
    assert cues[1].start == 0.6


def test_a_long_pause_closes_the_cue() -> None:
    words = [*timed("so I said"), *timed("and then", start=3.0)]
    assert [c.text for c in cues_from_words(words)] == ["so I said", "and then"]


def test_text_never_exceeds_the_lines_and_characters() -> None:
    text = " ".join(["word"] * 60)
    cues = cues_from_words(timed(text, step=0.05), max_chars=20, max_lines=2)
    assert len(cues) > 1
    for cue in cues:
        assert len(wrap(cue.text, 20)) <= 2
    assert " ".join(c.text for c in cues) == text


def test_a_cue_stays_up_no_longer_than_max_cue_s() -> None:
    cues = cues_from_words(timed("a b c d e f g h i j k l", step=1.0), max_cue_s=3.0)
    assert len(cues) == 4
    assert all(c.end - c.start <= 3.0 for c in cues)


def test_a_long_cue_breaks_at_a_comma() -> None:
    text = "when the rain came down on the old town square, everyone ran inside to wait"
    cues = cues_from_words(timed(text, step=0.1), max_chars=42)
    assert cues[0].text.endswith("square,")


def test_words_are_taken_in_time_order_and_blank_ones_dropped() -> None:
    words = [("world.", 0.5, 0.9), ("  ", 0.3, 0.4), ("Hello", 0.0, 0.4)]
    assert cues_from_words(words) == [Cue(0.0, 0.9, "Hello world.")]
    assert cues_from_words([]) == []


def test_srt_numbers_cues_with_comma_milliseconds() -> None:
    cues = [Cue(1.25, 2.0, "Hello there."), Cue(3661.5, 3662.001, "An hour later")]
    assert to_srt(cues) == (
        "1\n00:00:01,250 --> 00:00:02,000\nHello there.\n\n"
        "2\n01:01:01,500 --> 01:01:02,001\nAn hour later\n"
    )


def test_srt_wraps_long_cues_onto_lines() -> None:
    srt = to_srt([Cue(0, 1, "one two three four five six")], max_chars=10)
    assert srt.splitlines()[2:] == ["one two", "three four", "five six"]


def test_vtt_has_its_header_dot_milliseconds_and_escapes_markup() -> None:
    vtt = to_vtt([Cue(0.0, 1.0, "Tom & Jerry <3"), Cue(1.5, 2.25, "Next")])
    assert vtt == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.000\nTom &amp; Jerry &lt;3\n\n"
        "00:00:01.500 --> 00:00:02.250\nNext\n"
    )
    assert to_vtt([]) == "WEBVTT\n"
